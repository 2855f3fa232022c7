// An independent OAuth 2.0 authorization server for the gateway's external-issuer test.
//
// Usage: node server.mjs SETTINGS.json
// SETTINGS: {"port": 43123, "audience": "http://gateway.test",
//            "scopes": ["system/ServiceRequest.c", ...],
//            "client": {"client_id": "...", "jwks": {"keys": [...]}, "scope": "..."}}
//
// oidc-provider on 127.0.0.1:port, issuer http://127.0.0.1:port. One client, which
// authenticates with private_key_jwt (RFC 7523 §2.2, RS384 or ES384) for the
// client_credentials grant (RFC 6749 §4.4). Access tokens are JWTs (RFC 9068) for one
// resource server, the gateway (RFC 8707 resource indicator, the default when none is
// asked for), signed ES384 with a key generated at start. Prints one JSON line
// {"ready": true, "issuer": ...} once listening; exits on SIGTERM or SIGINT.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;
const resourceServer = {
  scope: settings.scopes.join(' '),
  audience: settings.audience,
  accessTokenFormat: 'jwt',
  accessTokenTTL: 300,
  jwt: { sign: { alg: 'ES384' } },
};

const signingKey = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' }),
  kid: `oidc-test-${Date.now()}`,
  use: 'sig',
  alg: 'ES384',
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: settings.client.client_id,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: settings.client.jwks,
      scope: settings.client.scope,
    },
  ],
  scopes: settings.scopes,
  jwks: { keys: [signingKey] },
  // The provider's only key is EC P-384, so its default ID token algorithm (RS256)
  // must follow, or it refuses to start.
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS384', 'ES384'],
    idTokenSigningAlgValues: ['ES384'],
  },
  clientDefaults: { id_token_signed_response_alg: 'ES384' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => settings.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== settings.audience) throw new errors.InvalidTarget();
        return resourceServer;
      },
    },
  },
});

const server = provider.listen(settings.port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
