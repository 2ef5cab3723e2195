import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, passkeyRow, signInWithPasskey, signUpWithPasskey, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('passkey backup flags (BE/BS)', () => {
  it('BS=1 with BE=0 is refused at registration', async () => {
    const run = await signUpWithPasskey(t.client(), new SoftAuthenticator(), { username: 'impossible-flags', tamper: { be: false, bs: true } });
    expect(run.response.status).toBe(401);
    expect((await auditRows(t, 'passkey.signup')).at(-1)!.details).toMatchObject({ reason: 'backup_flags_invalid' });
  });

  it('BS=1 with BE=0 is refused at sign-in', async () => {
    const { authenticator } = await signedUpUser(t);
    const run = await signInWithPasskey(t.client(), authenticator, { tamper: { be: false, bs: true } });
    expect(run.response.status).toBe(401);
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'backup_flags_invalid' });
  });

  it('BE, BS and UV are stored at registration, and BS is updated on each use', async () => {
    const { authenticator, credential } = await signedUpUser(t, { backupEligible: true, backedUp: false });
    let factor = await passkeyRow(t, credential.id);
    expect(factor).toMatchObject({ backup_eligible: true, backed_up: false, user_verified: true, device_type: 'multiDevice' });

    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { bs: true } })).response.status).toBe(200);
    factor = await passkeyRow(t, credential.id);
    expect(factor.backed_up).toBe(true);

    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { bs: false } })).response.status).toBe(200);
    expect((await passkeyRow(t, credential.id)).backed_up).toBe(false);
  });

  it('BE changing after registration is refused: it is fixed when the key is made', async () => {
    const { authenticator, credential } = await signedUpUser(t, { backupEligible: false });
    const run = await signInWithPasskey(t.client(), authenticator, { tamper: { be: true } });
    expect(run.response.status).toBe(401);
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'backup_eligibility_changed' });
    expect((await passkeyRow(t, credential.id)).backup_eligible).toBe(false);
  });
});
