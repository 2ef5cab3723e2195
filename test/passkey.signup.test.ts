import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, passkeyRow, signInWithPasskey, signUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('passkey sign-up', () => {
  it('asks for a discoverable credential, preferred UV, no attestation, ES256/EdDSA/RS256, a random user handle', async () => {
    const response = await t.client().post('/api/signup/passkey/options', { username: 'Options.Alice', displayName: 'Alice' });
    expect(response.status).toBe(200);
    const { options, ceremonyId } = response.body;
    expect(typeof ceremonyId).toBe('string');
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' });
    expect(options.attestation).toBe('none');
    expect(options.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toEqual([-7, -8, -257]);
    expect(options.rp).toEqual({ id: 'localhost', name: 'Latch' });
    expect(options.user).toMatchObject({ name: 'options.alice', displayName: 'Alice' });
    // The user handle is random bytes, never the username.
    expect(Buffer.from(options.user.id, 'base64url').length).toBe(32);
    // Challenges carry at least 16 random bytes.
    expect(Buffer.from(options.challenge, 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('creates the user, the passkey, the session and the audit row together; with UV the session is two-factor and phishing-resistant', async () => {
    const client = t.client();
    const authenticator = new SoftAuthenticator({ aaguid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd', backupEligible: true, backedUp: true, transports: ['internal', 'hybrid'] });
    const run = await signUpWithPasskey(client, authenticator, { username: 'Bob', label: 'My Mac' });
    expect(run.response.status).toBe(201);
    expect(run.response.body.user).toMatchObject({ username: 'bob' });

    const session = await client.get('/api/session');
    expect(session.status).toBe(200);
    expect(session.body.session).toMatchObject({ aal: 2, amr: ['passkey', 'uv'], phishingResistant: true });

    const factor = await passkeyRow(t, authenticator.credentials[0]!.id);
    expect(factor).toMatchObject({
      user_id: run.response.body.user.id,
      kind: 'passkey',
      status: 'active',
      label: 'My Mac',
      aaguid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd',
      backup_eligible: true,
      backed_up: true,
      device_type: 'multiDevice',
      user_verified: true,
      transports: ['hybrid', 'internal'], // stored sorted, as browsers report them
    });
    expect(Number(factor.sign_count)).toBe(0);
    const user = await t.db.selectFrom('users').selectAll().where('id', '=', run.response.body.user.id).executeTakeFirstOrThrow();
    expect(user.webauthn_user_id).toBe(run.options.user.id);

    const audit = (await auditRows(t, 'passkey.signup')).filter((row) => row.subject_user_id === user.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'success', factor_id: factor.id });
    expect(JSON.stringify(audit[0]!.details)).not.toContain(run.options.challenge);

    // And the new passkey signs in.
    const again = await signInWithPasskey(t.client(), authenticator);
    expect(again.response.status).toBe(200);
    expect(again.response.body.user.id).toBe(user.id);
  });

  it('a key of an algorithm we did not offer (ES384) is refused', async () => {
    const run = await signUpWithPasskey(t.client(), new SoftAuthenticator(), { username: 'es384-user', tamper: { coseAlg: -35 } });
    expect(run.response.status).toBe(401);
    expect((await auditRows(t, 'passkey.signup')).at(-1)!.details).toMatchObject({ reason: 'algorithm_unsupported' });
  });

  it('without UV the account is created but the session is single-factor', async () => {
    const client = t.client();
    const authenticator = new SoftAuthenticator({ uv: false });
    const run = await signUpWithPasskey(client, authenticator, { username: 'no-uv-carol' });
    expect(run.response.status).toBe(201);
    expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 1, amr: ['passkey'], phishingResistant: false });
    expect((await passkeyRow(t, authenticator.credentials[0]!.id)).user_verified).toBe(false);
  });

  it('a taken username gets a clear 409 at options, and at verify when taken in between', async () => {
    await signUpWithPasskey(t.client(), new SoftAuthenticator(), { username: 'dave' });
    const taken = await t.client().post('/api/signup/passkey/options', { username: ' DAVE ' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('username_taken');

    // Two sign-ups for one name race: both got options, only the first finishes.
    const first = t.client();
    const second = t.client();
    const optionsA = (await first.post('/api/signup/passkey/options', { username: 'erin' })).body;
    const optionsB = (await second.post('/api/signup/passkey/options', { username: 'erin' })).body;
    const a = await first.post('/api/signup/passkey/verify', { ceremonyId: optionsA.ceremonyId, response: new SoftAuthenticator().register(optionsA.options) });
    expect(a.status).toBe(201);
    const lateAuthenticator = new SoftAuthenticator();
    const b = await second.post('/api/signup/passkey/verify', { ceremonyId: optionsB.ceremonyId, response: lateAuthenticator.register(optionsB.options) });
    expect(b.status).toBe(409);
    expect(b.body.error.code).toBe('username_taken');
    expect(await t.db.selectFrom('factors').select('id').where('credential_id', '=', lateAuthenticator.credentials[0]!.id).executeTakeFirst()).toBeUndefined();
    expect((await auditRows(t, 'passkey.signup')).some((row) => row.outcome === 'failure' && (row.details as { reason?: string }).reason === 'username_taken')).toBe(true);
  });

  it('refuses bad input with 400 validation_failed, never a 500', async () => {
    const client = t.client();
    for (const body of [{}, { username: '' }, { username: 'x'.repeat(65) }, { username: 'bad\u0000name' }, { username: 42 }]) {
      const response = await client.post('/api/signup/passkey/options', body);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
    }
    const junk = await client.post('/api/signup/passkey/verify', { ceremonyId: 'x', response: { id: 'not base64url!', rawId: 'x', type: 'public-key', response: {} } });
    expect(junk.status).toBe(400);
    // Well-formed but meaningless: refused as a failed ceremony, not a crash.
    const { ceremonyId, options } = (await client.post('/api/signup/passkey/options', { username: 'frank' })).body;
    const response = new SoftAuthenticator().register(options);
    const garbage = await client.post('/api/signup/passkey/verify', { ceremonyId, response: { ...response, response: { ...response.response, attestationObject: 'AAAA' } } });
    expect(garbage.status).toBe(401);
    expect(garbage.body.error.code).toBe('passkey_verification_failed');
  });
});

describe('passkey routes in the API description', () => {
  it('/openapi.json describes every passkey route', async () => {
    const response = await t.client().get('/openapi.json');
    expect(response.status).toBe(200);
    for (const path of [
      '/api/signup/passkey/options',
      '/api/signup/passkey/verify',
      '/api/signin/passkey/options',
      '/api/signin/passkey/verify',
      '/api/step-up/passkey/options',
      '/api/step-up/passkey/verify',
      '/api/factors/passkeys/options',
      '/api/factors/passkeys/verify',
    ]) {
      expect(response.body.paths[path]?.post, path).toBeDefined();
    }
  });
});
