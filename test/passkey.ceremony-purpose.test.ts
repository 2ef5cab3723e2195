import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, signInWithPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('a ceremony finishes only the purpose, user and session it was started for', () => {
  it('a registration ceremony id is refused at a sign-in verify', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client();
    const signup = (await client.post('/api/signup/passkey/options', { username: 'purpose-mix' })).body;
    const signin = (await client.post('/api/signin/passkey/options', {})).body;
    // A valid assertion, but offered under the sign-up ceremony's id.
    const result = await client.post('/api/signin/passkey/verify', { ceremonyId: signup.ceremonyId, response: authenticator.assert({ ...signin.options, challenge: signup.options.challenge }) });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('ceremony_invalid');
    expect(client.sessionToken).toBeUndefined();
  });

  it('a sign-in ceremony cannot be used for a step-up', async () => {
    const { client, authenticator } = await signedUpUser(t);
    const before = client.sessionToken;
    const signin = (await client.post('/api/signin/passkey/options', {})).body;
    const result = await client.post('/api/step-up/passkey/verify', { ceremonyId: signin.ceremonyId, response: authenticator.assert(signin.options) });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('ceremony_invalid');
    expect(client.sessionToken).toBe(before);
  });

  it("a step-up ceremony of one user cannot be finished by another", async () => {
    const alice = await signedUpUser(t);
    const mallory = await signedUpUser(t);
    const started = (await alice.client.post('/api/step-up/passkey/options')).body;
    // Mallory, signed in as herself, answers Alice's ceremony with her own passkey.
    const result = await mallory.client.post('/api/step-up/passkey/verify', {
      ceremonyId: started.ceremonyId,
      response: mallory.authenticator.assert({ ...started.options, allowCredentials: [] }, { credential: mallory.credential }),
    });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('ceremony_invalid');
    expect((await mallory.client.get('/api/session')).body.session.steppedUpAt).toBeNull();
  });

  it("a step-up must be proven with the signed-in user's own passkey", async () => {
    const alice = await signedUpUser(t);
    const mallory = await signedUpUser(t);
    const started = (await alice.client.post('/api/step-up/passkey/options')).body;
    const result = await alice.client.post('/api/step-up/passkey/verify', {
      ceremonyId: started.ceremonyId,
      response: mallory.authenticator.assert(started.options, { credential: mallory.credential }),
    });
    expect(result.status).toBe(401);
    expect(result.body.error.code).toBe('passkey_verification_failed');
    expect((await auditRows(t, 'passkey.step_up')).at(-1)!.details).toMatchObject({ reason: 'credential_of_another_user' });
    expect((await alice.client.get('/api/session')).body.session.steppedUpAt).toBeNull();
  });

  it("step-up proves the user's passkey now: the token rotates and steppedUpAt is set", async () => {
    const { client, authenticator, credential } = await signedUpUser(t, {}, t.client());
    const oldCookie = client.sessionToken!;
    t.clock.advance(10 * 60);
    const run = await stepUpWithPasskey(client, authenticator);
    expect(run.options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([credential.id]);
    expect(run.response.status).toBe(200);
    expect(run.response.body.session).toMatchObject({ aal: 2, phishingResistant: true, steppedUpAt: t.clock.now().toISOString() });
    expect(client.sessionToken).not.toBe(oldCookie);
    // The old token is worthless now.
    const stale = t.client();
    stale.cookies.set('__Host-latch_session', oldCookie);
    expect((await stale.get('/api/session')).status).toBe(401);
    expect((await client.get('/api/session')).status).toBe(200);
  });

  it('step-up without a session answers 401', async () => {
    expect((await t.client().post('/api/step-up/passkey/options')).status).toBe(401);
    expect((await t.client().post('/api/step-up/passkey/verify', { ceremonyId: 'x', response: {} })).status).toBe(401);
  });

  it('an enrollment ceremony started by one session cannot be finished by another session of the same user', async () => {
    const alice = await signedUpUser(t);
    const second = t.client();
    const signIn = await signInWithPasskey(second, alice.authenticator);
    expect(signIn.response.status).toBe(200);
    const started = (await alice.client.post('/api/factors/passkeys/options')).body;
    const result = await second.post('/api/factors/passkeys/verify', { ceremonyId: started.ceremonyId, response: new SoftAuthenticator().register(started.options) });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('ceremony_invalid');
  });
});
