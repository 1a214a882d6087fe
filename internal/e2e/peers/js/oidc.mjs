// oidc-provider (npm), a certified OpenID Provider: JWT access tokens from
// client_credentials with an RFC 8707 resource indicator take the generic
// OIDC path (discovery, audiences, scopes) and vend AWS credentials with
// AssumeRoleWithWebIdentity.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, done, assert, env, jwtParts, fetchT, mcpPost, initializeBody, fakeCalls } from './lib.mjs';

const issuer = env('OIDC_ISSUER');
const url = env('PEERS_OIDC_URL');

async function token({ resource, scope }) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (resource) body.set('resource', resource);
  if (scope) body.set('scope', scope);
  const res = await fetchT(`${issuer}/token`, {
    method: 'POST',
    headers: { Authorization: 'Basic ' + Buffer.from('ops-agent:ops-agent-secret').toString('base64') },
    body,
  });
  const j = await res.json();
  assert(res.ok && j.access_token, `token endpoint: ${res.status} ${JSON.stringify(j)}`);
  return j.access_token;
}

let good;
await check('oidc-provider: client_credentials + resource indicator issues an at+jwt for this endpoint', async () => {
  good = await token({ resource: url, scope: 'logs:read' });
  const { header, claims } = jwtParts(good);
  assert(header.typ === 'at+jwt' && header.alg === 'RS256', `header ${JSON.stringify(header)}`);
  assert(claims.iss === issuer && claims.aud === url && claims.scope === 'logs:read' && claims.sub === 'ops-agent', `claims ${JSON.stringify(claims)}`);
});

await check('oidc-provider -> site: token with aud = this endpoint -> tools/call get_active_alarms through the MCP SDK', async () => {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${good}` } } });
  const client = new Client({ name: 'peers-oidc', version: '1.0.0' });
  await client.connect(transport, { timeout: 15000 });
  try {
    const res = await client.callTool({ name: 'get_active_alarms', arguments: {} }, undefined, { timeout: 20000 });
    assert(!res.isError, `isError: ${JSON.stringify(res.content).slice(0, 300)}`);
    assert(JSON.stringify(res.structuredContent ?? res.content).includes('checkout-api-errors'), 'alarm missing');
    const calls = await fakeCalls(['DescribeAlarms']);
    assert(calls.some((c) => c.owner === 'ops-agent' && c.signed), `DescribeAlarms owners: ${calls.map((c) => c.owner).join(',')}`);
  } finally {
    await transport.terminateSession().catch(() => {});
    await client.close();
  }
});

await check('oidc-provider -> site: token for another resource (aud mismatch) -> 401 invalid_token', async () => {
  const other = await token({ resource: 'https://other.example/mcp', scope: 'logs:read' });
  assert(jwtParts(other).claims.aud === 'https://other.example/mcp', 'aud not the other resource');
  const res = await mcpPost(url, other, initializeBody);
  const wa = res.headers.get('www-authenticate') || '';
  await res.body?.cancel();
  assert(res.status === 401 && /error="invalid_token"/.test(wa), `status ${res.status}, WWW-Authenticate: ${wa}`);
});

await check('oidc-provider -> site: token without the required scope -> 403 insufficient_scope', async () => {
  const noScope = await token({ resource: url });
  assert(!(jwtParts(noScope).claims.scope || '').includes('logs:read'), 'token has the scope anyway');
  const res = await mcpPost(url, noScope, initializeBody);
  const wa = res.headers.get('www-authenticate') || '';
  await res.body?.cancel();
  assert(res.status === 403 && /error="insufficient_scope"/.test(wa) && /scope="logs:read"/.test(wa), `status ${res.status}, WWW-Authenticate: ${wa}`);
});

done();
