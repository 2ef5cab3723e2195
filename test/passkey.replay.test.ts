import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, signInWithPasskey, signUpWithPasskey, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('passkey replay: a ceremony is consumed exactly once', () => {
  it('a registration response replayed after success is refused', async () => {
    const client = t.client();
    const run = await signUpWithPasskey(client, new SoftAuthenticator(), { username: 'replay-signup' });
    expect(run.response.status).toBe(201);
    const replay = await t.client().post('/api/signup/passkey/verify', run.body);
    expect(replay.status).toBe(400);
    expect(replay.body.error.code).toBe('ceremony_invalid');
    const users = await t.db.selectFrom('users').select('id').where('username', '=', 'replay-signup').execute();
    expect(users).toHaveLength(1);
  });

  it('a sign-in response replayed after success is refused, and audited', async () => {
    const { authenticator, user } = await signedUpUser(t);
    const run = await signInWithPasskey(t.client(), authenticator);
    expect(run.response.status).toBe(200);
    const attacker = t.client({ clientAddress: '198.51.100.7' });
    const replay = await attacker.post('/api/signin/passkey/verify', run.body);
    expect(replay.status).toBe(400);
    expect(replay.body.error.code).toBe('ceremony_invalid');
    expect(attacker.sessionToken).toBeUndefined();
    const failures = (await auditRows(t, 'passkey.signin')).filter((row) => row.outcome === 'failure' && row.client_address === '198.51.100.7');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.details).toMatchObject({ reason: 'ceremony_invalid' });
    expect(user.id).toBeTruthy();
  });

  it('a failed attempt spends the ceremony too: the right answer afterwards is refused', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', {})).body;
    const bad = await client.post('/api/signin/passkey/verify', { ceremonyId, response: authenticator.assert(options, { corruptSignature: true }) });
    expect(bad.status).toBe(401);
    const good = await client.post('/api/signin/passkey/verify', { ceremonyId, response: authenticator.assert(options) });
    expect(good.status).toBe(400);
    expect(good.body.error.code).toBe('ceremony_invalid');
  });

  it('concurrent verifies of one ceremony, on two instances: exactly one signs in', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', {})).body;
    const body = { ceremonyId, response: authenticator.assert(options) };
    const other = client.via(t.anotherInstance());
    const results = await Promise.all([
      client.post('/api/signin/passkey/verify', body),
      other.post('/api/signin/passkey/verify', body),
      client.post('/api/signin/passkey/verify', body),
      other.post('/api/signin/passkey/verify', body),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual([200, 400, 400, 400]);
    const sessions = await t.db.selectFrom('sessions').select('id').where('user_id', '=', (results.find((r) => r.status === 200)!.body.user.id)).execute();
    // The sign-up session and exactly one sign-in session.
    expect(sessions).toHaveLength(2);
  });

  it('an expired ceremony is refused, even with a correct answer', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', {})).body;
    t.clock.advance(5 * 60 + 1);
    const late = await client.post('/api/signin/passkey/verify', { ceremonyId, response: authenticator.assert(options) });
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('ceremony_invalid');

    const signup = (await client.post('/api/signup/passkey/options', { username: 'late-signup' })).body;
    t.clock.advance(5 * 60 + 1);
    const lateSignup = await client.post('/api/signup/passkey/verify', { ceremonyId: signup.ceremonyId, response: new SoftAuthenticator().register(signup.options) });
    expect(lateSignup.status).toBe(400);
    expect(lateSignup.body.error.code).toBe('ceremony_invalid');
  });

  it('an answer to a different challenge is refused', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client();
    const first = (await client.post('/api/signin/passkey/options', {})).body;
    const second = (await client.post('/api/signin/passkey/options', {})).body;
    const crossed = await client.post('/api/signin/passkey/verify', { ceremonyId: second.ceremonyId, response: authenticator.assert(first.options) });
    expect(crossed.status).toBe(401);
    expect(crossed.body.error.code).toBe('passkey_verification_failed');
    // The refusal names no challenge.
    expect(JSON.stringify(crossed.body)).not.toContain(first.options.challenge);
    expect(JSON.stringify(crossed.body)).not.toContain(second.options.challenge);
  });
});
