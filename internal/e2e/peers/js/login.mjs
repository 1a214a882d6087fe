// What the login peers share: a headless OAuthClientProvider for the MCP
// TypeScript SDK (in memory, as the conformance suite's example clients
// keep theirs), the flow "auth() -> scripted browser -> auth(code)", and
// the fake AWS's view of who signed a tool call.
import { createHash, randomBytes } from 'node:crypto';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { assert, env, fakeCalls, recordSecret } from './lib.mjs';
import { Browser, stopAt } from './browser.mjs';

// HeadlessProvider is an OAuthClientProvider with nowhere to send a user:
// redirectToAuthorization keeps the URL for the scripted browser.
export class HeadlessProvider {
  constructor({ redirectUrl, clientName }) {
    this._redirectUrl = redirectUrl;
    this._clientName = clientName;
    this.authorizationUrl = null;
    this.lastState = null;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }

  clientInformation() { return this._client; }
  saveClientInformation(info) { this._client = info; }
  tokens() { return this._tokens; }
  saveTokens(t) {
    this._tokens = t;
    recordSecret(t.access_token, t.refresh_token, t.id_token);
  }
  redirectToAuthorization(url) { this.authorizationUrl = new URL(url); }
  saveCodeVerifier(v) { this._verifier = v; recordSecret(v); }
  codeVerifier() {
    if (!this._verifier) throw new Error('no code verifier saved');
    return this._verifier;
  }
  discoveryState() { return this._discovery; }
  saveDiscoveryState(s) { this._discovery = s; }
}

// startLogin runs the SDK's auth() with no token: discovery, registration,
// and the authorization URL handed to the provider.
export async function startLogin(provider, serverUrl) {
  provider.authorizationUrl = null;
  const r = await auth(provider, { serverUrl });
  assert(r === 'REDIRECT', `auth() without a token returned ${r}`);
  assert(provider.authorizationUrl, 'auth() did not hand over an authorization URL');
  return provider.authorizationUrl;
}

// browse follows an authorization URL in a fresh scripted browser as
// username and returns where it stopped (the client's redirect URI) and
// the browser. Every code it carried is recorded as a secret.
export async function browse(authURL, { username, password, deny = false }) {
  const redirect = authURL.searchParams.get('redirect_uri');
  const b = new Browser({ username, password, deny, stop: stopAt(redirect) });
  try {
    const at = await b.login(authURL.href);
    return { at, browser: b };
  } finally {
    for (const v of b.visited) recordSecret(new URL(v).searchParams.get('code'));
  }
}

// finishLogin redeems the code the browser brought back through auth().
export async function finishLogin(provider, serverUrl, at) {
  const code = at.searchParams.get('code');
  assert(code, `the redirect has no code: ${at.search.slice(0, 200)}`);
  recordSecret(code);
  const r = await auth(provider, { serverUrl, authorizationCode: code });
  assert(r === 'AUTHORIZED', `auth() with the code returned ${r}`);
  return provider.tokens();
}

// cognitoUsers reads fakeenv's FAKE_COGNITO_USERS (name:password:sub,...).
export function cognitoUsers() {
  const out = {};
  for (const u of env('FAKE_COGNITO_USERS').split(',')) {
    const [name, password, sub] = u.split(':');
    out[name] = { name, password, sub };
    recordSecret(password);
  }
  return out;
}

// awsName is the name cognito_auth gives a user in AWS (internal/awsname):
// the AssumeRole SourceIdentity, which the fake records as the owner of
// the vended key. "<sub, 47 chars of [A-Za-z0-9_+=.@-]>@<16 base64url
// characters of SHA-256(issuer NUL sub)>".
export function awsName(issuer, sub) {
  const readable = [...sub].slice(0, 47).map((c) => (/^[A-Za-z0-9_+=.@-]$/.test(c) ? c : '-')).join('');
  const hash = createHash('sha256').update(`${issuer}\0${sub}`).digest().subarray(0, 12).toString('base64url');
  return `${readable}@${hash}`;
}

// signedBy returns the calls of op that the fake AWS saw signed with a key
// vended by STS AssumeRole on the suite's role for the user sub of issuer,
// after checking that no such call was signed with anything else.
export async function signedBy(op, issuer, sub) {
  const owner = awsName(issuer, sub);
  const calls = (await fakeCalls([op])).filter((c) => c.owner === owner);
  const server = env('FAKE_SERVER_AWS_ACCESS_KEY_ID');
  for (const c of calls) {
    assert(c.signed && c.vended_by === 'AssumeRole' && c.role_arn === env('PEERS_ROLE') && c.access_key_id !== server,
      `${op} for ${owner} not signed with a key vended for that user: ${JSON.stringify(c)}`);
  }
  return calls;
}

// toolText is a tool result's text, after checking it is not an error.
export function toolText(res, what) {
  assert(!res.isError, `${what} returned isError: ${JSON.stringify(res.content).slice(0, 300)}`);
  return JSON.stringify(res.structuredContent ?? res.content);
}

// loopbackRedirect is a client's loopback redirect URI on a port no one
// listens on: the browser stops before requesting it.
export function loopbackRedirect() {
  return `http://127.0.0.1:${20000 + Math.floor(Math.random() * 40000)}/callback`;
}
