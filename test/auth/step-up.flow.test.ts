import { describe, expect, it } from 'vitest';
import { setPassword } from '../../src/auth/enroll/password.ts';
import { signInWithBackupCode } from '../../src/auth/sign-in/second-factor.ts';
import { startStepUpWithPasskey, stepUpWithPasskey, stepUpWithTotp } from '../../src/auth/step-up.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import {
  activeFactor,
  addPasskey,
  addTotp,
  anonymous,
  auditRows,
  createFlows,
  expectNoSession,
  findSession,
  notTheCode,
  passkeySignIn,
  rateLimit,
  sessionRow,
  signedInAs,
  signInTotp,
  signUpPasskeyUser,
  signUpTotpUser,
  sorted,
  ticketFor,
} from './helpers.ts';

const f = await createFlows();

describe('stepUpWithTotp (without HTTP)', () => {
  it('rotates the token, records the proof (the app joins factor_ids, otp joins amr) and audits', async () => {
    const user = await signUpTotpUser(f);
    const totp = await activeFactor(f, user.user.id, 'totp');
    // A recovery session: password + backup code, so the app is not yet among its factors.
    const recovered = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[0]! });
    expect(recovered.established.session.factor_ids).not.toContain(totp.id);
    f.t.clock.advance(90);
    const requester = await signedInAs(f, recovered.established);

    const rotated = await stepUpWithTotp(f.deps, requester, { code: user.code() });
    expect(rotated.session.id).toBe(recovered.established.session.id);
    expect(rotated.token).not.toBe(recovered.established.token);
    await expectNoSession(f, recovered.established.token);
    expect((await findSession(f, rotated.token))?.session.id).toBe(rotated.session.id);

    const session = await sessionRow(f, rotated.session.id);
    expect(session.factor_ids).toContain(totp.id);
    expect(sorted(session.amr)).toEqual(['backup_code', 'otp', 'pwd']);
    expect(session).toMatchObject({ aal: 2, stepped_up_at: requester.now, last_verified_at: requester.now, revoked_at: null });

    expect((await auditRows(f, 'session.step_up', user.user.id)).map((row) => [row.outcome, row.factor_id, row.session_id, row.details.method])).toEqual([
      ['success', totp.id, session.id, 'totp'],
    ]);
    // The right code gave the session's attempts back.
    expect(await rateLimit(f, `2fa:step-up:session:${session.id}`)).toBeUndefined();
  });

  it('a wrong code is code_invalid, audited, counted per session, and leaves the token as it was', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    await expect(stepUpWithTotp(f.deps, requester, { code: notTheCode(user) })).rejects.toMatchObject({ code: 'code_invalid' });
    expect((await auditRows(f, 'session.step_up', user.user.id)).map((row) => [row.outcome, row.details.method])).toEqual([['failure', 'totp']]);
    expect((await rateLimit(f, `2fa:step-up:session:${user.established.session.id}`))?.count).toBe(1);
    expect((await findSession(f, user.established.token))?.session.stepped_up_at).toBeNull();
  });

  it('five wrong codes in one session lock its step-up', async () => {
    const user = await signUpTotpUser(f);
    for (let i = 0; i < 5; i++) {
      await expect(stepUpWithTotp(f.deps, await signedInAs(f, user.established, `198.51.100.${i + 1}`), { code: notTheCode(user) })).rejects.toMatchObject({ code: 'code_invalid' });
    }
    // Even from a new address, and with the right code.
    await expect(stepUpWithTotp(f.deps, await signedInAs(f, user.established, '198.51.100.99'), { code: user.code() })).rejects.toMatchObject({ code: 'locked_out' });
  });

  it('totp_not_enrolled without an app; factor_bound_in_session for an app added in this session', async () => {
    const user = await signUpPasskeyUser(f);
    const s1 = await signedInAs(f, user.established);
    await expect(stepUpWithTotp(f.deps, s1, { code: '123456' })).rejects.toMatchObject({ code: 'totp_not_enrolled' });

    const app = await addTotp(f, s1);
    expect(app.factor.bound_session_id).toBe(user.established.session.id);
    await expect(stepUpWithTotp(f.deps, await signedInAs(f, user.established), { code: app.code() })).rejects.toMatchObject({ code: 'factor_bound_in_session' });
    // Refused before any attempt was counted.
    expect(await rateLimit(f, `2fa:step-up:session:${user.established.session.id}`)).toBeUndefined();

    // In another session the same app steps up, and joins that session's factors.
    const other = await passkeySignIn(f, user);
    const rotated = await stepUpWithTotp(f.deps, await signedInAs(f, other.established), { code: app.code() });
    expect((await sessionRow(f, rotated.session.id)).factor_ids).toContain(app.factor.id);
    expect(sorted((await sessionRow(f, rotated.session.id)).amr)).toEqual(['otp', 'passkey', 'uv']);
    await expectNoSession(f, other.established.token);
  });

  it('a stale proof gets step_up_required; after a TOTP step-up the same action is allowed', async () => {
    const user = await signUpTotpUser(f);
    f.t.clock.advance(6 * 60);
    await expect(setPassword(f.deps, await signedInAs(f, user.established), { newPassword: 'a brand new passphrase' })).rejects.toMatchObject({
      code: 'step_up_required',
      details: { methods: ['totp'], maxAgeSeconds: 300 },
    });
    const rotated = await stepUpWithTotp(f.deps, await signedInAs(f, user.established), { code: user.code() });
    const changed = await setPassword(f.deps, await signedInAs(f, rotated), { newPassword: 'a brand new passphrase' });
    expect(changed.factor.kind).toBe('password');
    expect((await auditRows(f, 'password.change', user.user.id)).map((row) => row.session_id)).toEqual([rotated.session.id]);
  });
});

describe('startStepUpWithPasskey / stepUpWithPasskey (without HTTP)', () => {
  it('rotates the token; the passkey joins factor_ids and makes the session phishing-resistant; audited', async () => {
    const user = await signUpTotpUser(f);
    const first = await signInTotp(f, user);
    const key = new SoftAuthenticator();
    const passkey = await addPasskey(f, await signedInAs(f, first.established), key);
    expect(passkey.bound_session_id).toBe(first.established.session.id);
    // The only passkey was added in this session: it cannot step this session up.
    await expect(startStepUpWithPasskey(f.deps, f.rp, await signedInAs(f, first.established))).rejects.toMatchObject({ code: 'factor_bound_in_session' });

    const second = await signInTotp(f, user);
    f.t.clock.advance(6 * 60);
    const requester = await signedInAs(f, second.established);
    const started = await startStepUpWithPasskey(f.deps, f.rp, requester);
    expect(started.options.allowCredentials?.map((c) => c.id)).toEqual([passkey.credential_id]);
    expect(started.options.userVerification).toBe('required');
    const rotated = await stepUpWithPasskey(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: key.assert(started.options) });

    expect(rotated.session.id).toBe(second.established.session.id);
    await expectNoSession(f, second.established.token);
    expect((await findSession(f, rotated.token))?.session.id).toBe(rotated.session.id);
    const session = await sessionRow(f, rotated.session.id);
    expect(session.factor_ids).toContain(passkey.id);
    expect(session).toMatchObject({ aal: 2, phishing_resistant: true, stepped_up_at: requester.now, last_verified_at: requester.now });
    expect(sorted(session.amr)).toEqual(['otp', 'passkey', 'pwd', 'uv']);
    expect((await auditRows(f, 'passkey.step_up', user.user.id)).map((row) => [row.outcome, row.factor_id, row.session_id])).toEqual([['success', passkey.id, session.id]]);
    expect((await auditRows(f, 'session.step_up', user.user.id)).map((row) => [row.outcome, row.factor_id, row.details.method])).toEqual([['success', passkey.id, 'passkey']]);
  });

  it('asserting with a passkey bound in this session is factor_bound_in_session (nothing changes); an older passkey works', async () => {
    const user = await signUpPasskeyUser(f);
    const s1 = await signedInAs(f, user.established);
    const newKey = new SoftAuthenticator();
    const bound = await addPasskey(f, s1, newKey);
    const started = await startStepUpWithPasskey(f.deps, f.rp, await signedInAs(f, user.established));
    await expect(
      stepUpWithPasskey(f.deps, f.rp, await signedInAs(f, user.established), { ceremonyId: started.ceremonyId, response: newKey.assert(started.options) }),
    ).rejects.toMatchObject({ code: 'factor_bound_in_session' });
    expect((await findSession(f, user.established.token))?.session.stepped_up_at).toBeNull();
    expect((await sessionRow(f, user.established.session.id)).factor_ids).not.toContain(bound.id);
    expect((await auditRows(f, 'passkey.step_up', user.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['failure', 'factor_bound_in_session']]);

    const again = await startStepUpWithPasskey(f.deps, f.rp, await signedInAs(f, user.established));
    const rotated = await stepUpWithPasskey(f.deps, f.rp, await signedInAs(f, user.established), { ceremonyId: again.ceremonyId, response: user.authenticator.assert(again.options) });
    expect(rotated.session.id).toBe(user.established.session.id);
    await expectNoSession(f, user.established.token);
  });

  it('a step-up ceremony belongs to the session that started it', async () => {
    const user = await signUpPasskeyUser(f);
    const other = await passkeySignIn(f, user);
    const started = await startStepUpWithPasskey(f.deps, f.rp, await signedInAs(f, user.established));
    await expect(
      stepUpWithPasskey(f.deps, f.rp, await signedInAs(f, other.established), { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options) }),
    ).rejects.toMatchObject({ code: 'ceremony_invalid' });
    expect((await auditRows(f, 'passkey.step_up', user.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['failure', 'ceremony_of_another_session']]);
    expect((await findSession(f, other.established.token))?.session.stepped_up_at).toBeNull();
  });

  it('a passkey without user verification refreshes the session but does not raise it', async () => {
    const user = await signUpPasskeyUser(f, { uv: false });
    f.t.clock.advance(6 * 60);
    const requester = await signedInAs(f, user.established);
    const started = await startStepUpWithPasskey(f.deps, f.rp, requester);
    expect(started.options.userVerification).toBe('preferred');
    const rotated = await stepUpWithPasskey(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options) });
    expect(await sessionRow(f, rotated.session.id)).toMatchObject({ aal: 1, phishing_resistant: false, amr: ['passkey'], last_verified_at: requester.now });
  });
});
