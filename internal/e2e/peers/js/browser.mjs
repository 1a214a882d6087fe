// A scripted browser for OAuth logins, the JS port of internal/loginbrowser:
// fetch with a cookie jar that follows redirects by hand, submits the login
// proxy's consent form (Approve or Deny, with its hidden request and CSRF
// token) and an identity provider's login and consent forms the way a
// browser does (every input of the form, the clicked button's name and
// value, the page's Origin), and stops at the client's redirect URI, which
// it returns without requesting it. It reads the real pages rather than
// taking a shortcut: a form it does not recognise ends the login.

// Browser drives logins for one user; its cookie jar is its own.
export class Browser {
  constructor({ username, password, deny = false, stop }) {
    this.username = username;
    this.password = password;
    this.deny = deny;
    this.stop = stop;
    this.jar = new CookieJar();
    // Every HTML page shown ({url, status, body}) and every URL requested,
    // for assertions and secret scans.
    this.pages = [];
    this.visited = [];
  }

  // login opens authURL and clicks through until the browser is sent to
  // the client's redirect URI; it returns that URL (code, state, iss).
  async login(authURL) {
    let req = { method: 'GET', url: new URL(authURL) };
    for (let step = 0; step < 20; step++) {
      const res = await this.request(req);
      if (res.status >= 300 && res.status < 400) {
        const loc = new URL(res.headers.get('location'), req.url);
        await res.body?.cancel();
        if (this.stop(loc)) return loc;
        req = { method: 'GET', url: loc };
        continue;
      }
      const body = await res.text();
      this.pages.push({ url: req.url.href, status: res.status, body });
      if (res.status !== 200) {
        throw new Error(`login ended on a page: HTTP ${res.status} at ${req.url.pathname}: ${pageText(body).slice(0, 200)}`);
      }
      const form = findForm(body);
      if (!form) throw new Error(`login ended on a page without a form at ${req.url.pathname}: ${pageText(body).slice(0, 200)}`);
      const values = new URLSearchParams(form.inputs);
      if (form.has('password')) {
        // A hosted UI's login (Cognito: username; oidc-provider: login).
        const user = form.has('username') ? 'username' : form.has('login') ? 'login' : null;
        if (!user) throw new Error(`login form at ${req.url.pathname} has no username field`);
        values.set(user, this.username);
        values.set('password', this.password);
        form.click(null, values);
      } else if (form.hasButton('decision')) {
        // The login proxy's consent page.
        form.click(this.deny ? 'deny' : 'approve', values);
      } else if (values.get('prompt') === 'consent') {
        // oidc-provider's own consent prompt for the proxy's app client.
        form.click(null, values);
      } else {
        throw new Error(`unknown form at ${req.url.pathname}`);
      }
      const action = new URL(form.action || req.url.href, req.url);
      req = {
        method: 'POST',
        url: action,
        body: values.toString(),
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          // A browser posting a form sends the origin of the page it is on.
          Origin: req.url.origin,
        },
      };
    }
    throw new Error('too many steps');
  }

  async request({ method, url, body, headers = {} }) {
    this.visited.push(url.href);
    const h = { ...headers };
    const cookie = this.jar.header(url);
    if (cookie) h.Cookie = cookie;
    const res = await fetch(url, { method, body, headers: h, redirect: 'manual', signal: AbortSignal.timeout(20000) });
    for (const sc of res.headers.getSetCookie()) this.jar.set(url, sc);
    return res;
  }

  // follow requests a URL the login stopped at (a loopback callback) in
  // this browser, as a browser would after the last redirect.
  async follow(url) {
    const res = await this.request({ method: 'GET', url: new URL(url) });
    const body = await res.text();
    this.pages.push({ url: String(url), status: res.status, body });
    return { status: res.status, body };
  }
}

// stopAt stops at redirects to redirectURI: same scheme, host, port and
// path (the query is the response).
export function stopAt(redirectURI) {
  const want = new URL(redirectURI);
  return (u) => u.protocol === want.protocol && u.hostname === want.hostname && u.port === want.port && u.pathname === want.pathname;
}

// pageText is a page's visible text, for error messages.
export function pageText(html) {
  return decode(html.replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
}

// A cookie jar as RFC 6265 has it, for what these logins need: host-only
// and Domain cookies, Path, Secure, Max-Age/Expires (deletion included).
// Ports don't separate cookies, as in browsers.
class CookieJar {
  constructor() {
    this.cookies = new Map(); // domain|path|name -> cookie
  }

  set(url, header) {
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) return;
    const c = {
      name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(),
      domain: url.hostname, hostOnly: true, path: defaultPath(url), secure: false, expires: Infinity,
    };
    for (const a of attrs) {
      const i = a.indexOf('=');
      const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : a.slice(i + 1).trim();
      if (k === 'domain' && v) {
        const d = v.replace(/^\./, '').toLowerCase();
        if (!domainMatch(url.hostname, d)) return; // a cookie for another site is ignored
        c.domain = d;
        c.hostOnly = false;
      } else if (k === 'path' && v.startsWith('/')) {
        c.path = v;
      } else if (k === 'secure') {
        c.secure = true;
      } else if (k === 'max-age') {
        c.expires = Date.now() + Number(v) * 1000;
      } else if (k === 'expires' && c.expires === Infinity) {
        const t = Date.parse(v);
        if (!Number.isNaN(t)) c.expires = t;
      }
    }
    if (c.secure && url.protocol !== 'https:') return;
    if (c.name.startsWith('__Host-') && (!c.secure || !c.hostOnly || c.path !== '/')) return;
    const key = `${c.domain}|${c.path}|${c.name}`;
    if (c.expires <= Date.now()) this.cookies.delete(key);
    else this.cookies.set(key, c);
  }

  header(url) {
    const now = Date.now();
    const out = [];
    for (const [key, c] of this.cookies) {
      if (c.expires <= now) {
        this.cookies.delete(key);
        continue;
      }
      const hostOK = c.hostOnly ? url.hostname === c.domain : domainMatch(url.hostname, c.domain);
      const pathOK = url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/');
      if (hostOK && pathOK && (!c.secure || url.protocol === 'https:')) out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }
}

function domainMatch(host, domain) {
  return host === domain || host.endsWith('.' + domain);
}

function defaultPath(url) {
  const p = url.pathname;
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

// findForm reads the first form of a page: its action, its inputs (not
// buttons) and its submit buttons.
function findForm(html) {
  const m = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!m) return null;
  const action = attrs(m[1]).action ?? '';
  const inputs = [];
  const buttons = [];
  for (const t of m[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
    const a = attrs(t[2]);
    if (t[1].toLowerCase() === 'input') {
      const type = (a.type || 'text').toLowerCase();
      if (type === 'submit') buttons.push({ name: a.name, value: a.value ?? '' });
      else if (a.name && type !== 'button' && type !== 'reset') inputs.push([a.name, a.value ?? '']);
    } else if (!a.type || a.type.toLowerCase() === 'submit') {
      buttons.push({ name: a.name, value: a.value ?? '' });
    }
  }
  return {
    action,
    inputs,
    has: (name) => inputs.some(([n]) => n === name),
    hasButton: (name) => buttons.some((b) => b.name === name),
    // click adds the chosen submit button's name and value, as a browser
    // does; value null clicks the first button.
    click(value, values) {
      const b = buttons.find((x) => value === null || x.value === value);
      if (!b) throw new Error(`no button ${value} on the form`);
      if (b.name) values.set(b.name, b.value);
    },
  };
}

function attrs(s) {
  const out = {};
  for (const m of s.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decode(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (all, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return named[e.toLowerCase()] ?? all;
  });
}
