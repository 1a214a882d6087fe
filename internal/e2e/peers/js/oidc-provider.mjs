// Runs oidc-provider (a certified OpenID Provider) on 127.0.0.1:OIDC_PORT as
// the generic OIDC issuer of the suite. Machine clients get RFC 9068 JWT
// access tokens through client_credentials with an RFC 8707 resource
// indicator: the token's aud is the requested resource.
//
// It is also the second upstream of cognito_auth's OAuth login proxy, so
// nothing works only because of fakecognito's quirks: the proxy's app
// client (mcp-login-proxy, confidential, authorization_code + PKCE, its
// one callback OIDC_PROXY_CALLBACK, secret OIDC_PROXY_SECRET) signs users
// in through oidc-provider's dev interactions (a login form that takes any
// name, then a consent form), both plain HTML forms a script submits.
// Access tokens are JWTs only when a resource indicator is in play, so the
// proxy forwards resource (forward_resource) and the resource server's
// tokens carry aud = the MCP URL, as cognito_auth requires.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;

const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const provider = new Provider(issuer, {
  jwks: { keys: [{ ...jwk, kid: 'peers-oidc-1', use: 'sig', alg: 'RS256' }] },
  clients: [{
    client_id: 'ops-agent',
    client_secret: 'ops-agent-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }, {
    client_id: 'mcp-login-proxy',
    client_secret: process.env.OIDC_PROXY_SECRET,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [process.env.OIDC_PROXY_CALLBACK],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'logs:read'],
  pkce: { required: () => true },
  // The proxy wraps the refresh token for its client; issue one without
  // asking for offline_access (which oidc-provider drops unless the
  // consent prompt is forced).
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'logs:read',
        audience: resource,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});

http.createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening at ${issuer}`);
});
