// An OpenID Connect provider for the console's single sign-on test (oidc-provider).
//
// Usage: node sso.mjs SETTINGS.json
// SETTINGS: {"port": 43124, "redirect_uri": "http://127.0.0.1:P/console/oidc/callback",
//            "client_id": "console", "client_secret": "...",
//            "accounts": {"login": {"preferred_username": "...", "console_role": "...",
//                                   "console_destinations": ["..."]}}}
//
// Authorization code flow with PKCE (S256) for one confidential client; the built-in
// development sign-in page accepts the logins listed in "accounts" (any password), and
// consent is granted without asking (first-party client). The ID token carries the
// profile claims, console_role and console_destinations among them. Prints one JSON
// line {"ready": true, "issuer": ...} once listening.

import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: settings.client_id,
      client_secret: settings.client_secret,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [settings.redirect_uri],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'console_role', 'console_destinations'],
  },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const account = settings.accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['preferred_username', 'console_role', 'console_destinations']);
    await grant.save();
    return grant;
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
