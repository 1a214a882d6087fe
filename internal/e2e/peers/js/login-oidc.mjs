// The same login through a second upstream, oidc-provider (npm, a certified
// OpenID Provider), so nothing works only because of fakecognito's quirks:
// the MCP TypeScript SDK's auth() registers at cognito_auth's OAuth proxy,
// the scripted browser approves the proxy's consent page, then signs in and
// consents at oidc-provider's dev interactions; the proxy forwards the
// resource indicator, so the access token is oidc-provider's RFC 9068 JWT
// for this MCP URL, and its tools/call is signed with a key vended for
// that user.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, done, assert, env, jwtParts, recordSecret } from './lib.mjs';
import { HeadlessProvider, startLogin, browse, finishLogin, signedBy, toolText, loopbackRedirect } from './login.mjs';

const url = new URL(env('PEERS_LOGIN_OIDC_URL'));
const issuer = env('OIDC_ISSUER');
const user = 'carol-oidc';
recordSecret(env('OIDC_PROXY_SECRET'));

const provider = new HeadlessProvider({ redirectUrl: loopbackRedirect(), clientName: 'Peers TS SDK (oidc-provider)' });
let authURL, at, tokens;

await check('login-oidc: auth() discovers the proxy in front of oidc-provider and registers', async () => {
  authURL = await startLogin(provider, url);
  assert(authURL.origin === url.origin && authURL.searchParams.get('code_challenge_method') === 'S256', `authorization URL ${authURL.origin}${authURL.pathname}`);
});

if (authURL) {
  await check('login-oidc: scripted browser: proxy consent -> oidc-provider login + consent (dev interactions) -> code, state, iss', async () => {
    const r = await browse(authURL, { username: user, password: 'any password: dev interactions take any' });
    at = r.at;
    const seen = r.browser.pages.map((p) => new URL(p.url));
    assert(seen.some((u) => u.origin === url.origin && u.pathname === '/oauth/authorize'), 'no proxy consent page');
    assert(seen.filter((u) => u.origin === issuer && u.pathname.startsWith('/interaction/')).length >= 2, `oidc-provider login + consent pages: ${seen.map((u) => u.pathname).join(', ')}`);
    // What the proxy sent upstream: its own client, its callback, PKCE
    // S256 and the resource indicator.
    const up = r.browser.visited.map((v) => new URL(v)).find((u) => u.origin === issuer && u.pathname === '/auth');
    assert(up, 'never went to oidc-provider /auth');
    const q = up.searchParams;
    assert(q.get('client_id') === 'mcp-login-proxy' && q.get('redirect_uri') === `${url.origin}/oauth/callback` &&
      q.get('code_challenge_method') === 'S256' && q.get('resource') === url.href && q.get('scope').split(' ').includes('logs:read'),
      `upstream authorization request: ${[...q].filter(([k]) => k !== 'state' && k !== 'code_challenge').map(([k, v]) => `${k}=${v}`).join('&')}`);
    assert(at.searchParams.get('state') === provider.lastState && at.searchParams.get('iss') === url.origin, 'state/iss');
  });
}

if (at) {
  await check('login-oidc: auth() redeems the code -> oidc-provider at+jwt for this MCP URL (aud, client_id, scope) + refresh token', async () => {
    tokens = await finishLogin(provider, url, at);
    const { header, claims } = jwtParts(tokens.access_token);
    assert(header.typ === 'at+jwt', `header ${JSON.stringify(header)}`);
    assert(claims.iss === issuer && claims.aud === url.href && claims.client_id === 'mcp-login-proxy' && claims.sub === user &&
      claims.scope.split(' ').includes('logs:read'), `claims ${JSON.stringify({ iss: claims.iss, aud: claims.aud, client_id: claims.client_id, sub: claims.sub, scope: claims.scope })}`);
    assert(tokens.refresh_token, 'no refresh token');
  });
}

if (tokens) {
  await check('login-oidc: tools/call get_active_alarms -> signed with a key vended (assume_role) for that user', async () => {
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'peers-login-oidc', version: '1.0.0' });
    await client.connect(transport, { timeout: 15000 });
    try {
      const text = toolText(await client.callTool({ name: 'get_active_alarms', arguments: {} }, undefined, { timeout: 20000 }), 'get_active_alarms');
      assert(text.includes('checkout-api-errors'), `alarms: ${text.slice(0, 200)}`);
      const calls = await signedBy('DescribeAlarms', issuer, user);
      assert(calls.length === 1, `DescribeAlarms calls for ${user}: ${calls.length}`);
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });
}

done();
