import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, passkeyRow, signInWithPasskey, signUpWithPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

async function lastFailureReason(action: string) {
  const rows = (await auditRows(t, action)).filter((row) => row.outcome === 'failure');
  return (rows.at(-1)?.details as { reason?: string } | undefined)?.reason;
}

describe('passkey responses bent by an attacker are refused (SimpleWebAuthn checks, wired right)', () => {
  it('phishing: clientDataJSON.origin of another site is refused, at sign-in and at sign-up', async () => {
    const { authenticator } = await signedUpUser(t);
    const signIn = await signInWithPasskey(t.client(), authenticator, { tamper: { origin: 'https://latch-login.example' } });
    expect(signIn.response.status).toBe(401);
    expect(signIn.response.body.error.code).toBe('passkey_verification_failed');
    expect(await lastFailureReason('passkey.signin')).toBe('origin_mismatch');
    // The client's origin is not echoed into the error.
    expect(JSON.stringify(signIn.response.body)).not.toContain('latch-login.example');

    const signUp = await signUpWithPasskey(t.client(), new SoftAuthenticator(), { username: 'phished', tamper: { origin: 'https://evil.example' } });
    expect(signUp.response.status).toBe(401);
    expect(await lastFailureReason('passkey.signup')).toBe('origin_mismatch');
    expect(await t.db.selectFrom('users').select('id').where('username', '=', 'phished').executeTakeFirst()).toBeUndefined();
  });

  it('clientData.type "webauthn.create" sent to a sign-in verify is refused', async () => {
    const { authenticator } = await signedUpUser(t);
    const run = await signInWithPasskey(t.client(), authenticator, { tamper: { type: 'webauthn.create' } });
    expect(run.response.status).toBe(401);
    expect(await lastFailureReason('passkey.signin')).toBe('type_mismatch');
  });

  it('an assertion for another RP ID is refused', async () => {
    const { authenticator } = await signedUpUser(t);
    const run = await signInWithPasskey(t.client(), authenticator, { tamper: { rpId: 'evil.example' } });
    expect(run.response.status).toBe(401);
    expect(await lastFailureReason('passkey.signin')).toBe('rp_id_mismatch');
  });

  it('user presence missing is refused, at sign-in and at registration', async () => {
    const { authenticator } = await signedUpUser(t);
    const run = await signInWithPasskey(t.client(), authenticator, { tamper: { up: false } });
    expect(run.response.status).toBe(401);
    expect(await lastFailureReason('passkey.signin')).toBe('user_not_present');

    const signUp = await signUpWithPasskey(t.client(), new SoftAuthenticator(), { username: 'absent', tamper: { up: false } });
    expect(signUp.response.status).toBe(401);
    expect(await lastFailureReason('passkey.signup')).toBe('user_not_present');
  });

  it('UV missing where the policy requires it (step-up) is refused with a code the client can act on', async () => {
    const { client, authenticator } = await signedUpUser(t);
    const before = client.sessionToken;
    const run = await stepUpWithPasskey(client, authenticator, { uv: false });
    expect(run.options.userVerification).toBe('required');
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('user_verification_required');
    expect(client.sessionToken).toBe(before);
    expect((await client.get('/api/session')).body.session.steppedUpAt).toBeNull();
  });

  it('UV missing where it is only preferred (sign-in): signed in, but single-factor and not phishing-resistant', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client();
    const run = await signInWithPasskey(client, authenticator, { tamper: { uv: false } });
    expect(run.options.userVerification).toBe('preferred');
    expect(run.response.status).toBe(200);
    expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 1, amr: ['passkey'], phishingResistant: false });
  });

  it('a bogus signature answers 401 and writes an audit row naming the passkey', async () => {
    const { authenticator, user, credential } = await signedUpUser(t);
    const before = await passkeyRow(t, credential.id);
    t.clock.advance(60);
    const client = t.client({ clientAddress: '192.0.2.99' });
    const run = await signInWithPasskey(client, authenticator, { tamper: { corruptSignature: true } });
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('passkey_verification_failed');
    expect(client.sessionToken).toBeUndefined();
    const factor = await passkeyRow(t, credential.id);
    const row = (await auditRows(t, 'passkey.signin')).filter((r) => r.client_address === '192.0.2.99').at(-1)!;
    expect(row).toMatchObject({ outcome: 'failure', subject_user_id: user.id, factor_id: factor.id });
    expect(row.details).toMatchObject({ reason: 'signature_invalid' });
    // A failed assertion changes nothing on the passkey (its last use is still the sign-up).
    expect(factor.last_used_at).toEqual(before.last_used_at);
    expect(Number(factor.sign_count)).toBe(Number(before.sign_count));
  });
});
