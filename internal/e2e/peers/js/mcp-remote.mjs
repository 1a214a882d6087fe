// mcp-remote (npm; what Claude Desktop runs for remote servers) logs in
// with nothing but the URL. It is started as Claude Desktop starts it, over
// stdio, by the MCP TypeScript SDK's StdioClientTransport; it discovers
// cognito_auth's OAuth proxy, registers with its loopback callback, and
// prints the authorization URL. The scripted browser follows that URL
// (consent page, fakecognito's hosted UI) and ends at mcp-remote's own
// callback server, which redeems the code; then a tools/call goes through
// its stdio and reaches the fake AWS signed with a key vended for the user.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { check, done, assert, env, info, recordSecret } from './lib.mjs';
import { browse, cognitoUsers, signedBy, toolText } from './login.mjs';
import { pageText } from './browser.mjs';

const url = env('PEERS_LOGIN_URL');
const origin = new URL(url).origin;
const proxyJS = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
const carol = cognitoUsers().carol;
const home = mkdtempSync(join(tmpdir(), 'peers-mcp-remote-'));

// start runs mcp-remote as a desktop host would, collecting its stderr
// (its log, where the authorization URL is printed).
function start() {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [proxyJS, url, '--transport', 'http-only', '--auth-timeout', '120'],
    env: {
      HOME: home,
      MCP_REMOTE_CONFIG_DIR: join(home, '.mcp-auth'),
      NODE_EXTRA_CA_CERTS: env('NODE_EXTRA_CA_CERTS'),
      // No browser may open: the scripted one follows the printed URL.
      // (xdg-open runs $BROWSER; `true` opens nothing.)
      BROWSER: 'true',
    },
    stderr: 'pipe',
  });
  const log = { text: '' };
  transport.stderr.on('data', (d) => { log.text += d.toString(); });
  const client = new Client({ name: 'peers-claude-desktop-like-host', version: '1.0.0' });
  return { transport, client, log };
}

async function waitFor(log, re, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = re.exec(log.text);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`mcp-remote did not print ${re} within ${ms} ms; its log ends: ${log.text.slice(-600)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let first;
await check('mcp-remote: prints the authorization URL of the proxy (DCR done, loopback callback, PKCE S256, resource)', async () => {
  first = start();
  first.connected = first.client.connect(first.transport, { timeout: 120000 });
  first.connected.catch(() => {}); // awaited below
  const m = await waitFor(first.log, /Please authorize this client by visiting:\s*\n(https?:\/\/\S+)/, 60000);
  first.authURL = new URL(m[1]);
  const q = first.authURL.searchParams;
  const redirect = new URL(q.get('redirect_uri'));
  assert(first.authURL.origin === origin && first.authURL.pathname === '/oauth/authorize', `URL ${first.authURL.origin}${first.authURL.pathname}`);
  assert(redirect.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(redirect.hostname) && redirect.port, `redirect_uri ${redirect}`);
  assert(q.get('code_challenge_method') === 'S256' && q.get('state') && q.get('resource') === url, `params ${[...q.keys()]}`);
});

if (first?.authURL) {
  await check('mcp-remote: scripted browser approves "MCP CLI Proxy", signs in as carol and lands on mcp-remote\'s callback server', async () => {
    const { at, browser } = await browse(first.authURL, { username: 'carol', password: carol.password });
    const consent = browser.pages.find((p) => p.url.startsWith(`${origin}/oauth/authorize`));
    assert(consent && pageText(consent.body).includes('MCP CLI Proxy'), 'consent page does not name mcp-remote\'s client');
    assert(at.searchParams.get('code') && at.searchParams.get('iss') === origin, `redirect ${at.origin}${at.pathname}`);
    const r = await browser.follow(at);
    assert(r.status === 200, `mcp-remote's callback answered ${r.status}: ${pageText(r.body).slice(0, 200)}`);
  }, { timeoutMs: 60000 });

  await check('mcp-remote: initialize + tools/call describe_log_groups through its stdio -> signed with a key vended for carol', async () => {
    await first.connected;
    const text = toolText(await first.client.callTool({ name: 'describe_log_groups', arguments: { log_group_name_prefix: '/aws/lambda/' } }, undefined, { timeout: 30000 }),
      'describe_log_groups');
    assert(text.includes('/aws/lambda/checkout-api') && !text.includes('/ecs/orders-service'), `log groups: ${text.slice(0, 200)}`);
    const calls = await signedBy('DescribeLogGroups', env('FAKE_COGNITO_URL'), carol.sub);
    assert(calls.length === 1, `DescribeLogGroups calls for carol: ${calls.length}`);
    const opened = /Browser opened automatically|Could not open a browser[^\n]*/.exec(first.log.text);
    info(`mcp-remote on opening a browser: ${opened ? opened[0] : '(nothing said)'}; the scripted browser followed the printed URL`);
  }, { timeoutMs: 150000 });
}
await first?.client.close().catch(() => {});
recordStoredTokens();

await check('mcp-remote: started again, it reuses its stored token (no authorization URL) and tools/call works', async () => {
  const again = start();
  try {
    await again.client.connect(again.transport, { timeout: 60000 });
    const text = toolText(await again.client.callTool({ name: 'get_active_alarms', arguments: {} }, undefined, { timeout: 30000 }), 'get_active_alarms');
    assert(text.includes('checkout-api-errors'), `alarms: ${text.slice(0, 200)}`);
    assert(!/Please authorize this client/.test(again.log.text), 'mcp-remote asked for a new login');
    assert((await signedBy('DescribeAlarms', env('FAKE_COGNITO_URL'), carol.sub)).length === 1, 'DescribeAlarms not signed for carol');
  } finally {
    await again.client.close().catch(() => {});
  }
}, { timeoutMs: 90000 });

// What mcp-remote stored is secret too: Caddy must never have logged it.
function recordStoredTokens() {
  const dir = join(home, '.mcp-auth');
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  try {
    for (const f of walk(dir).filter((f) => f.endsWith('_tokens.json'))) {
      const t = JSON.parse(readFileSync(f, 'utf8'));
      recordSecret(t.access_token, t.refresh_token);
      info(`mcp-remote stored its tokens in ${f.slice(home.length)}`);
    }
  } catch (e) {
    info(`mcp-remote token store not readable: ${e.message}`);
  }
}

rmSync(home, { recursive: true, force: true });
done();
