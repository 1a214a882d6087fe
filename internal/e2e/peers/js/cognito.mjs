// cognito-local (npm) as the user pool: its InitiateAuth tokens go through
// cognito_auth's validation on Caddy's TLS site, plain HTTP as any client.
import { check, done, assert, env, info, readJSON, jwtParts, fetchT, mcpPost, initializeBody } from './lib.mjs';

const url = env('PEERS_TLS_URL');
const c = readJSON(env('COGNITO_JSON'));
const alice = c.users.alice;

await check('cognito-local: InitiateAuth returns Cognito-shaped ID and access tokens', async () => {
  const id = jwtParts(alice.id_token), at = jwtParts(alice.access_token);
  assert(id.header.alg === 'RS256' && id.header.kid, `ID token header ${JSON.stringify(id.header)}`);
  assert(id.claims.iss === c.issuer && id.claims.token_use === 'id' && id.claims.aud === c.client, `ID claims ${JSON.stringify(id.claims)}`);
  assert(id.claims['cognito:username'] && id.claims.email === alice.email, 'ID token lacks cognito:username/email');
  assert(at.claims.token_use === 'access' && at.claims.client_id === c.client && at.claims.aud === undefined, `access claims ${JSON.stringify(at.claims)}`);
});

await check('cognito-local: its discovery document names the wrong host, so the Caddyfile sets jwks_url', async () => {
  const res = await fetchT(`${c.issuer}/.well-known/openid-configuration`);
  const doc = await res.json();
  info(`cognito-local discovery: issuer=${doc.issuer} jwks_uri=${doc.jwks_uri} (actual issuer ${c.issuer})`);
  assert(doc.jwks_uri !== c.jwks_url, 'discovery is right now: drop the jwks_url workaround');
  const keys = await (await fetchT(c.jwks_url)).json();
  assert(keys.keys.some((k) => k.kid === jwtParts(alice.id_token).header.kid), 'token kid not in the JWKS');
});

await check('cognito-local -> TLS site: no token -> 401 with an RFC 6750 challenge naming the resource metadata', async () => {
  const res = await mcpPost(url, null, initializeBody);
  const wa = res.headers.get('www-authenticate') || '';
  await res.body?.cancel();
  assert(res.status === 401, `status ${res.status}`);
  assert(/^Bearer /.test(wa) && /resource_metadata="https:\/\/localhost:\d+\/\.well-known\/oauth-protected-resource\/mcp"/.test(wa), `WWW-Authenticate: ${wa}`);
});

await check('cognito-local -> TLS site: protected resource metadata (RFC 9728) names cognito-local as authorization server', async () => {
  const u = new URL(url);
  const res = await fetchT(`${u.origin}/.well-known/oauth-protected-resource/mcp`);
  const doc = await res.json();
  assert(res.status === 200 && doc.resource === url && doc.authorization_servers?.includes(c.issuer), JSON.stringify(doc));
});

await check('cognito-local -> TLS site: cognito-local ID token -> initialize 200 with a session', async () => {
  const res = await mcpPost(url, alice.id_token, initializeBody);
  const body = await res.text();
  assert(res.status === 200, `status ${res.status}: ${body.slice(0, 200)}`);
  assert(res.headers.get('mcp-session-id'), 'no Mcp-Session-Id');
  assert(body.includes('"protocolVersion"'), `body ${body.slice(0, 200)}`);
});

await check('cognito-local -> TLS site: cognito-local access token (no aud, audiences = app client) -> 401 invalid_token', async () => {
  const res = await mcpPost(url, alice.access_token, initializeBody);
  const wa = res.headers.get('www-authenticate') || '';
  await res.body?.cancel();
  assert(res.status === 401 && /error="invalid_token"/.test(wa), `status ${res.status}, WWW-Authenticate: ${wa}`);
});

await check('cognito-local -> TLS site: ID token with a forged payload -> 401 invalid_token', async () => {
  const [h, p, s] = alice.id_token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.email = 'mallory@example.com';
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  const res = await mcpPost(url, forged, initializeBody);
  const wa = res.headers.get('www-authenticate') || '';
  const body = await res.text();
  assert(res.status === 401 && /error="invalid_token"/.test(wa), `status ${res.status}, WWW-Authenticate: ${wa}`);
  assert(!body.includes(forged) && !wa.includes(forged), 'token echoed back');
});

done();
