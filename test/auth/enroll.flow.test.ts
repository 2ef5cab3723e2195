import { describe, expect, it } from 'vitest';
import { regenerateBackupCodes } from '../../src/auth/enroll/backup-codes.ts';
import { finishAddingPasskey, startAddingPasskey } from '../../src/auth/enroll/passkey.ts';
import { setPassword } from '../../src/auth/enroll/password.ts';
import { finishAddingTotp, startAddingTotp } from '../../src/auth/enroll/totp.ts';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { signInWithBackupCode, signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import { ENROLLMENT_MAX_ATTEMPTS } from '../../src/auth/sign-up/totp.ts';
import { codeFromUri } from '../helpers/authenticator.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import {
  activeFactor,
  addPasskey,
  addTotp,
  anonymous,
  auditRows,
  createFlows,
  expectNoSession,
  factorsOf,
  findSession,
  notifications,
  passkeySignIn,
  sessionRow,
  signedInAs,
  signInTotp,
  signUpPasskeyUser,
  signUpTotpUser,
  ticketFor,
} from './helpers.ts';

const f = await createFlows();

function wrongCodeFor(otpauthUri: string): string {
  const now = f.t.clock.now();
  const valid = new Set([-1, 0, 1].map((offset) => codeFromUri(otpauthUri, now, offset)));
  for (let n = 0; ; n++) if (!valid.has(String(n).padStart(6, '0'))) return String(n).padStart(6, '0');
}

describe('startAddingTotp / finishAddingTotp (without HTTP)', () => {
  it('adds the app bound to this session, creates backup codes when there are none, audits and notifies', async () => {
    const user = await signUpPasskeyUser(f);
    const requester = await signedInAs(f, user.established);
    const enrollment = await startAddingTotp(f.deps, requester);
    expect(enrollment.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    const added = await finishAddingTotp(f.deps, requester, { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, requester.now), label: 'Phone' });

    expect(added.factor).toMatchObject({ kind: 'totp', status: 'active', label: 'Phone', bound_session_id: user.established.session.id });
    expect(added.backupCodes).toHaveLength(10);
    const backup = await activeFactor(f, user.user.id, 'backup_codes');
    expect(await f.t.db.selectFrom('backup_codes').select('id').where('factor_id', '=', backup.id).execute()).toHaveLength(10);
    expect((await auditRows(f, 'factor.add', user.user.id)).map((row) => [row.outcome, row.factor_id, row.session_id, row.details])).toEqual([
      ['success', added.factor.id, user.established.session.id, { kind: 'totp', backupCodesCreated: true }],
    ]);
    expect((await notifications(f, user.user.id, 'factor_added')).map((n) => n.payload)).toEqual([{ factorId: added.factor.id, kind: 'totp' }]);

    // One app at a time.
    await expect(startAddingTotp(f.deps, requester)).rejects.toMatchObject({ code: 'totp_already_enrolled' });
  });

  it('a wrong code is code_invalid with the attempts left and audited; nothing is added', async () => {
    const user = await signUpPasskeyUser(f);
    const requester = await signedInAs(f, user.established);
    const enrollment = await startAddingTotp(f.deps, requester);
    await expect(finishAddingTotp(f.deps, requester, { ceremonyId: enrollment.ceremonyId, code: wrongCodeFor(enrollment.otpauthUri), label: null })).rejects.toMatchObject({
      code: 'code_invalid',
      details: { attemptsLeft: ENROLLMENT_MAX_ATTEMPTS - 1 },
    });
    expect((await auditRows(f, 'factor.add', user.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['failure', 'code_invalid']]);
    expect((await factorsOf(f, user.user.id)).map((factor) => factor.kind)).toEqual(['passkey']);
  });

  it('only the session that started the enrollment can finish it', async () => {
    const user = await signUpPasskeyUser(f);
    const enrollment = await startAddingTotp(f.deps, await signedInAs(f, user.established));
    const another = (await passkeySignIn(f, user)).established;
    await expect(
      finishAddingTotp(f.deps, await signedInAs(f, another), { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()), label: null }),
    ).rejects.toMatchObject({ code: 'ceremony_invalid' });
    expect((await factorsOf(f, user.user.id)).map((factor) => factor.kind)).toEqual(['passkey']);
  });

  it('a stale proof is step_up_required, with the methods that would do', async () => {
    const user = await signUpPasskeyUser(f);
    f.t.clock.advance(6 * 60);
    await expect(startAddingTotp(f.deps, await signedInAs(f, user.established))).rejects.toMatchObject({
      code: 'step_up_required',
      details: { methods: ['passkey'], maxAgeSeconds: 300 },
    });
  });
});

describe('startAddingPasskey / finishAddingPasskey (without HTTP)', () => {
  it('adds a passkey bound to this session, audits and notifies', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    const key = new SoftAuthenticator({ aaguid: 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4' });
    const started = await startAddingPasskey(f.deps, f.rp, requester);
    expect(started.options.user.name).toBe(user.username);
    const factor = await finishAddingPasskey(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: key.register(started.options), label: 'Key' });

    expect(factor).toMatchObject({ kind: 'passkey', status: 'active', label: 'Key', credential_id: key.credentials[0]!.id, bound_session_id: user.established.session.id, user_verified: true });
    expect((await auditRows(f, 'factor.add', user.user.id)).map((row) => [row.outcome, row.factor_id, row.details.kind])).toEqual([['success', factor.id, 'passkey']]);
    expect((await notifications(f, user.user.id, 'factor_added')).map((n) => n.payload)).toEqual([
      expect.objectContaining({ factorId: factor.id, kind: 'passkey', label: 'Key', aaguid: 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4' }),
    ]);
  });

  it('the policy is checked again at the end: a proof that went stale while the key was held is step_up_required, and nothing is added', async () => {
    const user = await signUpTotpUser(f);
    const started = await startAddingPasskey(f.deps, f.rp, await signedInAs(f, user.established));
    f.t.clock.advance(6 * 60);
    const key = new SoftAuthenticator();
    await expect(
      finishAddingPasskey(f.deps, f.rp, await signedInAs(f, user.established), { ceremonyId: started.ceremonyId, response: key.register(started.options), label: null }),
    ).rejects.toMatchObject({ code: 'step_up_required', details: { methods: ['totp'] } });
    expect((await factorsOf(f, user.user.id)).filter((factor) => factor.kind === 'passkey')).toHaveLength(0);
    expect((await auditRows(f, 'factor.add', user.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['denied', 'step_up_required']]);
    await expect(startAddingPasskey(f.deps, f.rp, await signedInAs(f, user.established))).rejects.toMatchObject({ code: 'step_up_required' });
  });

  it('the same credential cannot be registered twice', async () => {
    const user = await signUpPasskeyUser(f);
    const requester = await signedInAs(f, user.established);
    const started = await startAddingPasskey(f.deps, f.rp, requester);
    const credentialIdBytes = Buffer.from(user.authenticator.credentials[0]!.id, 'base64url');
    await expect(
      finishAddingPasskey(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: new SoftAuthenticator().register(started.options, { credentialIdBytes }), label: null }),
    ).rejects.toMatchObject({ code: 'credential_already_registered' });
    expect((await factorsOf(f, user.user.id)).filter((factor) => factor.kind === 'passkey')).toHaveLength(1);
  });
});

describe('regenerateBackupCodes (without HTTP)', () => {
  it('replaces the set: old codes stop working, sessions an old code opened end (but the asking one), audited and notified', async () => {
    const user = await signUpTotpUser(f);
    const old = await activeFactor(f, user.user.id, 'backup_codes');
    const asking = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[0]! });
    const elsewhere = await signInWithBackupCode(f.deps, anonymous(f, '198.51.100.20'), { ticket: await ticketFor(f, user, '198.51.100.20'), code: user.backupCodes[1]! });

    const regenerated = await regenerateBackupCodes(f.deps, await signedInAs(f, asking.established));
    expect(regenerated.codes).toHaveLength(10);
    expect(regenerated.codes.some((code) => user.backupCodes.includes(code))).toBe(false);
    expect(regenerated.endedSessions).toBe(1);

    const now = await factorsOf(f, user.user.id);
    expect(now.find((factor) => factor.id === old.id)).toMatchObject({ status: 'revoked', revoked_reason: 'regenerated' });
    const fresh = await activeFactor(f, user.user.id, 'backup_codes');
    expect(fresh.id).not.toBe(old.id);
    await expectNoSession(f, elsewhere.established.token);
    expect(await sessionRow(f, elsewhere.established.session.id)).toMatchObject({ revoked_reason: 'backup_codes_regenerated' });
    expect((await findSession(f, asking.established.token))?.session.id).toBe(asking.established.session.id);

    expect((await auditRows(f, 'backup_codes.regenerate', user.user.id)).map((row) => [row.factor_id, row.session_id, row.details])).toEqual([
      [fresh.id, asking.established.session.id, { replacedFactorId: old.id, endedSessions: 1 }],
    ]);
    expect((await notifications(f, user.user.id, 'backup_codes_regenerated')).map((n) => n.payload)).toEqual([{ factorId: fresh.id }]);

    await expect(signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[2]! })).rejects.toMatchObject({ code: 'code_invalid' });
    const withNew = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: regenerated.codes[0]! });
    expect(withNew.result.remaining).toBe(9);
  });

  it('needs a fresh two-factor proof', async () => {
    const user = await signUpTotpUser(f);
    f.t.clock.advance(6 * 60);
    await expect(regenerateBackupCodes(f.deps, await signedInAs(f, user.established))).rejects.toMatchObject({ code: 'step_up_required', details: { methods: ['totp'] } });
    expect(await auditRows(f, 'backup_codes.regenerate', user.user.id)).toHaveLength(0);
  });
});

describe('setPassword (without HTTP)', () => {
  it('a first password is a factor.add: created, audited, notified, no other session ended', async () => {
    const user = await signUpPasskeyUser(f);
    const other = (await passkeySignIn(f, user)).established;
    const result = await setPassword(f.deps, await signedInAs(f, user.established), { newPassword: 'my first passphrase' });
    expect(result.endedSessions).toBe(0);
    expect(result.factor).toMatchObject({ kind: 'password', status: 'active' });
    expect(result.factor.password_hash).toMatch(/^\$argon2id\$/);
    expect((await auditRows(f, 'factor.add', user.user.id)).map((row) => [row.factor_id, row.details.kind])).toEqual([[result.factor.id, 'password']]);
    expect((await notifications(f, user.user.id, 'factor_added')).map((n) => n.payload)).toEqual([{ factorId: result.factor.id, kind: 'password' }]);
    expect(await findSession(f, other.token)).not.toBeNull();
  });

  it('a change ends the other sessions and forgets remembered browsers; the old password no longer works', async () => {
    const user = await signUpTotpUser(f);
    const remembered = await signInTotp(f, user, { rememberDevice: true });
    const deviceToken = remembered.result.rememberedDevice!.token;
    const asking = await signInTotp(f, user);
    const requester = await signedInAs(f, asking.established);

    const result = await setPassword(f.deps, requester, { newPassword: 'a different passphrase' });
    expect(result.endedSessions).toBe(2); // the sign-up session and the remembered one
    expect(await sessionRow(f, remembered.established.session.id)).toMatchObject({ revoked_reason: 'password_changed' });
    await expectNoSession(f, user.established.token);
    expect((await findSession(f, asking.established.token))?.session.id).toBe(asking.established.session.id);
    expect((await f.t.db.selectFrom('remembered_devices').select('revoked_at').where('user_id', '=', user.user.id).executeTakeFirstOrThrow()).revoked_at).toEqual(requester.now);
    expect((await auditRows(f, 'password.change', user.user.id)).map((row) => row.details)).toEqual([{ kind: 'password', endedSessions: 2, forgottenDevices: 1 }]);
    expect((await notifications(f, user.user.id, 'password_changed')).map((n) => n.payload)).toEqual([{ factorId: result.factor.id, kind: 'password' }]);

    // The remembered browser no longer skips the code, and the old password's ticket never signs in.
    const withDevice = await submitPassword(f.deps, anonymous(f), { username: user.username, password: 'a different passphrase', deviceToken });
    expect(withDevice.kind).toBe('ticket');
    f.t.clock.advance(30);
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user, undefined, user.password), code: user.code(), rememberDevice: false })).rejects.toMatchObject({
      code: 'code_invalid',
    });
    const withNew = await signInWithTotpCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user, undefined, 'a different passphrase'), code: user.code(), rememberDevice: false });
    expect(withNew.user.id).toBe(user.user.id);
  });

  it('a password ticket issued before the change is refused after it, even with the right code', async () => {
    const user = await signUpTotpUser(f);
    const ticket = await ticketFor(f, user);
    await setPassword(f.deps, await signedInAs(f, user.established), { newPassword: 'changed in between' });
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket, code: user.code(), rememberDevice: false })).rejects.toMatchObject({ code: 'code_invalid' });
  });

  it('refuses a weak password, and a stale session (step_up_required after six minutes)', async () => {
    const user = await signUpTotpUser(f);
    const password = await activeFactor(f, user.user.id, 'password');
    await expect(setPassword(f.deps, await signedInAs(f, user.established), { newPassword: 'short' })).rejects.toMatchObject({ code: 'weak_password' });
    await expect(setPassword(f.deps, await signedInAs(f, user.established), { newPassword: user.username })).rejects.toMatchObject({ code: 'weak_password' });
    f.t.clock.advance(6 * 60);
    await expect(setPassword(f.deps, await signedInAs(f, user.established), { newPassword: 'a perfectly good one' })).rejects.toMatchObject({
      code: 'step_up_required',
      details: { methods: ['totp'], maxAgeSeconds: 300 },
    });
    expect((await activeFactor(f, user.user.id, 'password')).password_hash).toBe(password.password_hash);
    expect(await auditRows(f, 'password.change', user.user.id)).toHaveLength(0);
  });

  it('a passkey added in this session does not count as a way to step it up', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    await addPasskey(f, requester, new SoftAuthenticator());
    f.t.clock.advance(6 * 60);
    await expect(setPassword(f.deps, await signedInAs(f, user.established), { newPassword: 'a perfectly good one' })).rejects.toMatchObject({
      code: 'step_up_required',
      details: { methods: ['totp'] },
    });
  });

  it('a one-factor session (a passkey without user verification) cannot add a factor: forbidden, no step-up would do', async () => {
    const user = await signUpPasskeyUser(f, { uv: false });
    await expect(addTotp(f, await signedInAs(f, user.established))).rejects.toMatchObject({ code: 'forbidden', details: { reason: 'no_step_up_method' } });
  });
});
