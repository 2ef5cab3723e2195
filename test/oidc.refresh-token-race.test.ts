import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { signedUpUser } from './helpers/passkeys.ts';
import { authorize, useOidcServer } from './helpers/oidc.ts';

const { t, latch, registerApp, signedInToApp } = await useOidcServer();

/**
 * A stolen refresh token raced against the app's own use of it: parallel requests with the same
 * token must not each get a fresh token. At most one wins; the reuse revokes the whole grant.
 */
describe('OpenID Connect: the same refresh token presented in parallel', () => {
  it('at most one parallel refresh succeeds, and afterwards no token of the family works', async () => {
    const { config, tokens } = await signedInToApp();

    const results = await Promise.allSettled(Array.from({ length: 6 }, () => client.refreshTokenGrant(config, tokens.refresh_token!)));
    const won = results.filter((result) => result.status === 'fulfilled');
    expect(won.length).toBeLessThanOrEqual(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ error: 'invalid_grant' });
    }
    for (const result of won) {
      await expect(client.refreshTokenGrant(config, (result as PromiseFulfilledResult<client.TokenEndpointResponse>).value.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('an authorization code redeemed twice in parallel gives tokens at most once', async () => {
    const { config } = await registerApp();
    const browser = latch.browser();
    await signedUpUser(t, {}, browser);
    const flow = await authorize(config, browser);
    const callback = await flow.callback((await flow.login()).body.location);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => flow.redeem(callback)));
    expect(results.filter((result) => result.status === 'fulfilled').length).toBeLessThanOrEqual(1);
  });
});
