// The MCP TypeScript SDK logs in with nothing but the URL: auth() with an
// OAuthClientProvider discovers cognito_auth's OAuth proxy from the 401,
// registers, and the scripted browser approves the consent page and signs
// in at the Cognito-like hosted UI (fakecognito, run by fakeenv). The
// token it gets is the upstream's own access token; its tools/call reaches
// the fake AWS signed with a key vended (assume_role) for that user.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { check, done, assert, env, info, jwtParts, fetchT, mcpPost, initializeBody, recordSecret } from './lib.mjs';
import { HeadlessProvider, startLogin, browse, finishLogin, cognitoUsers, signedBy, toolText, loopbackRedirect } from './login.mjs';
import { pageText } from './browser.mjs';

const url = new URL(env('PEERS_LOGIN_URL'));
const origin = url.origin;
const upstream = env('FAKE_COGNITO_URL');
const appClient = env('FAKE_COGNITO_CLIENT_ID');
const users = cognitoUsers();

await check('login-sdk: no token -> 401 whose resource metadata names this origin as the authorization server', async () => {
  const res = await mcpPost(url, null, initializeBody);
  const wa = res.headers.get('www-authenticate') || '';
  await res.body?.cancel();
  assert(res.status === 401 && wa.includes(`resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`), `status ${res.status}, WWW-Authenticate: ${wa}`);
  const prm = await (await fetchT(`${origin}/.well-known/oauth-protected-resource/mcp`)).json();
  assert(prm.resource === url.href && JSON.stringify(prm.authorization_servers) === JSON.stringify([origin]), JSON.stringify(prm));
  const as = await (await fetchT(`${origin}/.well-known/oauth-authorization-server`)).json();
  assert(as.issuer === origin && as.code_challenge_methods_supported?.includes('S256') && as.registration_endpoint, JSON.stringify(as));
  // The reason for the proxy: the upstream itself offers neither.
  const up = await (await fetchT(`${upstream}/.well-known/openid-configuration`)).json();
  assert(!up.code_challenge_methods_supported && !up.registration_endpoint, 'the fake Cognito advertises PKCE or registration');
});

const sessions = {};

for (const name of ['alice', 'bob']) {
  const u = users[name];
  const provider = new HeadlessProvider({ redirectUrl: loopbackRedirect(), clientName: `Peers TS SDK (${name})` });
  let authURL, at, tokens;

  await check(`login-sdk ${name}: auth() registers (DCR) and asks for a code with PKCE S256, state and resource`, async () => {
    authURL = await startLogin(provider, url);
    const q = authURL.searchParams;
    assert(authURL.origin === origin && authURL.pathname === '/oauth/authorize', `authorization URL ${authURL.origin}${authURL.pathname}`);
    assert(q.get('client_id') === provider.clientInformation()?.client_id, 'client_id is not the registered one');
    assert(q.get('code_challenge_method') === 'S256' && q.get('code_challenge') && q.get('state') === provider.lastState, `PKCE/state: ${[...q.keys()]}`);
    assert(q.get('resource') === url.href, `resource ${q.get('resource')}`);
  });
  if (!authURL) continue;

  await check(`login-sdk ${name}: scripted browser approves the consent page and signs in at the hosted UI -> code, state, iss`, async () => {
    const r = await browse(authURL, { username: name, password: u.password });
    at = r.at;
    const consent = r.browser.pages.find((p) => p.url.startsWith(`${origin}/oauth/authorize`));
    assert(consent, `no consent page; pages: ${r.browser.pages.map((p) => p.url.split('?')[0]).join(', ')}`);
    const text = pageText(consent.body);
    assert(text.includes(`Peers TS SDK (${name})`) && text.includes('127.0.0.1') && text.includes(new URL(upstream).host),
      `consent page lacks the client name, redirect host or sign-in host: ${text.slice(0, 300)}`);
    assert(r.browser.pages.some((p) => p.url.startsWith(`${upstream}/oauth2/authorize`)), 'never saw the hosted UI login page');
    assert(at.searchParams.get('state') === provider.lastState, 'state not returned unchanged');
    assert(at.searchParams.get('iss') === origin, `iss ${at.searchParams.get('iss')}`);
  });
  if (!at) continue;

  await check(`login-sdk ${name}: auth() redeems the code -> the upstream's access token (client_id, no aud) and a refresh token`, async () => {
    tokens = await finishLogin(provider, url, at);
    const { claims } = jwtParts(tokens.access_token);
    assert(claims.iss === upstream && claims.client_id === appClient && claims.token_use === 'access' && claims.aud === undefined,
      `claims ${JSON.stringify({ iss: claims.iss, client_id: claims.client_id, token_use: claims.token_use, aud: claims.aud })}`);
    assert(claims.sub === u.sub, `sub ${claims.sub}, want ${u.sub}`);
    assert(tokens.refresh_token && tokens.token_type?.toLowerCase() === 'bearer' && tokens.expires_in > 0, 'no refresh token / token_type / expires_in');
  });
  if (!tokens) continue;

  await check(`login-sdk ${name}: tools/call describe_log_groups with the token -> signed with a key vended for ${name}`, async () => {
    const before = (await signedBy('DescribeLogGroups', upstream, u.sub)).length;
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'peers-login-sdk', version: '1.0.0' });
    await client.connect(transport, { timeout: 15000 });
    sessions[name] = { client, transport, provider };
    const text = toolText(await client.callTool({ name: 'describe_log_groups', arguments: {} }, undefined, { timeout: 20000 }), 'describe_log_groups');
    assert(text.includes('/aws/lambda/checkout-api'), `log groups: ${text.slice(0, 200)}`);
    const after = await signedBy('DescribeLogGroups', upstream, u.sub);
    assert(after.length === before + 1, `DescribeLogGroups calls for ${name}: ${before} -> ${after.length}`);
  });
}

await check('login-sdk: alice and bob signed with different vended keys', async () => {
  const ka = new Set((await signedBy('DescribeLogGroups', upstream, users.alice.sub)).map((c) => c.access_key_id));
  const kb = new Set((await signedBy('DescribeLogGroups', upstream, users.bob.sub)).map((c) => c.access_key_id));
  assert(ka.size && kb.size && ![...ka].some((k) => kb.has(k)), `alice ${[...ka]}, bob ${[...kb]}`);
});

await check('login-sdk alice: auth() with the stored refresh token gets a new access token that still works', async () => {
  const s = sessions.alice;
  assert(s, 'no alice session');
  const old = s.provider.tokens();
  const r = await auth(s.provider, { serverUrl: url });
  assert(r === 'AUTHORIZED', `auth() returned ${r}`);
  const fresh = s.provider.tokens();
  assert(fresh.access_token && fresh.access_token !== old.access_token, 'no new access token');
  assert(jwtParts(fresh.access_token).claims.sub === users.alice.sub, 'refreshed token is for someone else');
  const text = toolText(await s.client.callTool({ name: 'get_active_alarms', arguments: {} }, undefined, { timeout: 20000 }), 'get_active_alarms');
  assert(text.includes('checkout-api-errors'), `alarms: ${text.slice(0, 200)}`);
});

await check("login-sdk: bob's refresh token presented by alice's client -> invalid_grant", async () => {
  const a = sessions.alice, b = sessions.bob;
  assert(a && b, 'sessions missing');
  const res = await fetchT(`${origin}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: b.provider.tokens().refresh_token, client_id: a.provider.clientInformation().client_id }),
  });
  const j = await res.json();
  assert(res.status === 400 && j.error === 'invalid_grant' && !j.access_token, `status ${res.status}: ${JSON.stringify(j).slice(0, 200)}`);
});

await check('login-sdk: Deny on the consent page -> access_denied back at the client with its state, no upstream login', async () => {
  const provider = new HeadlessProvider({ redirectUrl: loopbackRedirect(), clientName: 'Peers TS SDK (deny)' });
  const authURL = await startLogin(provider, url);
  const { at, browser } = await browse(authURL, { username: 'alice', password: users.alice.password, deny: true });
  assert(at.searchParams.get('error') === 'access_denied' && at.searchParams.get('state') === provider.lastState && !at.searchParams.get('code'),
    `redirect ${at.search.slice(0, 200)}`);
  assert(!browser.visited.some((v) => v.startsWith(upstream)), 'the browser went to the hosted UI after Deny');
});

for (const s of Object.values(sessions)) {
  await s.transport.terminateSession().catch(() => {});
  await s.client.close().catch(() => {});
}
info(`login-sdk: ${Object.keys(sessions).length} users logged in through ${origin}`);
recordSecret(env('FAKE_COGNITO_CLIENT_SECRET'));
done();
