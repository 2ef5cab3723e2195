import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { registerClient, useOidcServer } from './helpers/oidc.ts';

const { t, latch, jwks } = await useOidcServer();

/**
 * A copy of the database (a backup, a leaked dump) must not let anyone act as an app: only a
 * keyed hash of each client secret is stored, and the hash itself is not a secret that works.
 */
describe('OpenID Connect client secrets at rest', () => {
  it('the stored value is not the secret, and presenting it at the token endpoint fails', async () => {
    const { client: registered, clientSecret } = await registerClient(t, { redirectUris: [], grantTypes: ['client_credentials'], scope: 'openid' });
    const row = await t.db.selectFrom('oidc_clients').selectAll().where('client_id', '=', registered.clientId).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(clientSecret!);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);

    const withHash = await latch.relyingParty(registered.clientId, row.secret_hash!);
    await expect(client.clientCredentialsGrant(withHash)).rejects.toMatchObject({ status: 401 });
    const withSecret = await latch.relyingParty(registered.clientId, clientSecret!);
    expect((await client.clientCredentialsGrant(withSecret)).access_token).toBeTruthy();
  });

  it('signing keys are sealed at rest: the private key is not in the row', async () => {
    await jwks();
    const keys = await t.db.selectFrom('oidc_signing_keys').selectAll().execute();
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key.private_sealed).toMatch(/^v1\./);
      expect(JSON.stringify(key.public_jwk)).not.toMatch(/"d"/);
      expect(key.private_sealed).not.toMatch(/"d"/);
    }
  });
});
