import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { signedUpUser } from './helpers/passkeys.ts';
import { authorize, registerClient, serveLatch } from './helpers/oidc.ts';

/**
 * A stolen refresh token raced against the app's own use of it: parallel requests with the same
 * token must not each get a fresh token. At most one wins; the reuse revokes the whole grant.
 */
describe('OpenID Connect: the same refresh token presented in parallel', () => {
  let t: TestApp;
  let latch: Awaited<ReturnType<typeof serveLatch>>;

  beforeAll(async () => {
    t = await createTestApp();
    t.clock.set(new Date());
    latch = await serveLatch(t);
  });

  it('at most one parallel refresh succeeds, and afterwards no token of the family works', async () => {
    const { client: registered, clientSecret } = await registerClient(t);
    const config = await latch.relyingParty(registered.clientId, clientSecret);
    const browser = latch.browser();
    await signedUpUser(t, {}, browser);
    const flow = await authorize(config, browser);
    const tokens = await flow.redeem(await flow.callback((await flow.login()).body.location));

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
    const { client: registered, clientSecret } = await registerClient(t);
    const config = await latch.relyingParty(registered.clientId, clientSecret);
    const browser = latch.browser();
    await signedUpUser(t, {}, browser);
    const flow = await authorize(config, browser);
    const callback = await flow.callback((await flow.login()).body.location);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => flow.redeem(callback)));
    expect(results.filter((result) => result.status === 'fulfilled').length).toBeLessThanOrEqual(1);
  });
});
