// Runs oidc-provider (a certified OpenID Provider) on 127.0.0.1:OIDC_PORT as
// the generic OIDC issuer of the suite. Machine clients get RFC 9068 JWT
// access tokens through client_credentials with an RFC 8707 resource
// indicator: the token's aud is the requested resource.
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
  }],
  scopes: ['openid', 'logs:read'],
  features: {
    devInteractions: { enabled: false },
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
