// Seeds a running cognito-local with a user pool, an app client and two
// users through its Cognito Identity Provider JSON API (the same calls the
// AWS SDK makes), signs both users in with InitiateAuth USER_PASSWORD_AUTH
// and writes pool, client and tokens as JSON to argv[2].
import { writeFileSync } from 'node:fs';
import { fetchT } from './lib.mjs';

const base = process.env.COGNITO_URL; // http://127.0.0.1:PORT
const out = process.argv[2];

async function call(op, body) {
  const res = await fetchT(base + '/', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AWSCognitoIdentityProviderService.${op}`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${op}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

const pool = (await call('CreateUserPool', { PoolName: 'peers' })).UserPool.Id;
const client = (await call('CreateUserPoolClient', {
  UserPoolId: pool, ClientName: 'mcp-agents', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
})).UserPoolClient.ClientId;

const users = {};
for (const name of ['alice', 'bob']) {
  const email = `${name}@example.com`;
  await call('AdminCreateUser', {
    UserPoolId: pool, Username: email, TemporaryPassword: 'Temp#Pass1', MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }],
  });
  await call('AdminSetUserPassword', { UserPoolId: pool, Username: email, Password: `Perm#${name}1`, Permanent: true });
  const auth = await call('InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH', ClientId: client,
    AuthParameters: { USERNAME: email, PASSWORD: `Perm#${name}1` },
  });
  const r = auth.AuthenticationResult;
  if (!r || !r.IdToken || !r.AccessToken) throw new Error(`InitiateAuth for ${email}: ${JSON.stringify(auth)}`);
  const sub = JSON.parse(Buffer.from(r.IdToken.split('.')[1], 'base64url')).sub;
  users[name] = { email, sub, id_token: r.IdToken, access_token: r.AccessToken };
}

writeFileSync(out, JSON.stringify({
  pool, client,
  issuer: `${base}/${pool}`,
  jwks_url: `${base}/${pool}/.well-known/jwks.json`,
  users,
}, null, 2));
console.log(`seeded cognito-local: pool ${pool}, client ${client}, users alice and bob`);
