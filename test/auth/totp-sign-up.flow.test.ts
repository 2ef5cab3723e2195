import { describe, expect, it } from 'vitest';
import { signInWithBackupCode } from '../../src/auth/sign-in/second-factor.ts';
import { ENROLLMENT_MAX_ATTEMPTS, finishTotpSignUp, startTotpSignUp } from '../../src/auth/sign-up/totp.ts';
import { codeFromUri, parseOtpauthUri } from '../helpers/authenticator.ts';
import { anonymous, auditRows, createFlows, findSession, notifications, PASSWORD, sessionRow, signUpTotpUser, sorted, ticketFor, uniqueUsername } from './helpers.ts';

const f = await createFlows();

/** A code the enrollment's app would not show around now. */
function wrongCodeFor(otpauthUri: string): string {
  const now = f.t.clock.now();
  const valid = new Set([-1, 0, 1].map((offset) => codeFromUri(otpauthUri, now, offset)));
  for (let n = 0; ; n++) if (!valid.has(String(n).padStart(6, '0'))) return String(n).padStart(6, '0');
}

describe('startTotpSignUp / finishTotpSignUp (without HTTP)', () => {
  it('step one presents the secret for the app and creates nobody yet', async () => {
    const username = uniqueUsername('totp');
    const enrollment = await startTotpSignUp(f.deps, anonymous(f), { username, password: PASSWORD, displayName: 'Grace' });
    const parsed = parseOtpauthUri(enrollment.otpauthUri);
    expect(parsed).toMatchObject({ type: 'totp', secret: enrollment.secret, issuer: f.t.config.rpName });
    expect(parsed.label).toContain(username);
    expect(enrollment.qrCode).toMatch(/^data:image\/png;base64,/);
    expect(enrollment.ceremonyId).toEqual(expect.any(String));
    expect(await f.t.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()).toBeUndefined();
    const ceremony = await f.t.db.selectFrom('ceremonies').selectAll().where('kind', '=', 'totp_signup').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    // The pending secret and password are sealed/hashed, never stored in the clear.
    expect(JSON.stringify(ceremony.data)).not.toContain(enrollment.secret);
    expect(JSON.stringify(ceremony.data)).not.toContain(PASSWORD);
  });

  it('step two with the app\u2019s code creates the account (password, app, backup codes) and signs in at two factors', async () => {
    const username = uniqueUsername('totp');
    const enrollment = await startTotpSignUp(f.deps, anonymous(f), { username, password: PASSWORD, displayName: null });
    const done = await finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) });

    expect(done.user).toMatchObject({ username, status: 'active' });
    expect(done.backupCodes).toHaveLength(10);
    expect(new Set(done.backupCodes).size).toBe(10);
    const factors = await f.t.db.selectFrom('factors').selectAll().where('user_id', '=', done.user.id).execute();
    expect(sorted(factors.map((factor) => factor.kind))).toEqual(['backup_codes', 'password', 'totp']);
    expect(factors.every((factor) => factor.status === 'active' && factor.bound_session_id === null)).toBe(true);
    const byKind = Object.fromEntries(factors.map((factor) => [factor.kind, factor]));
    expect(byKind.password!.password_hash).toMatch(/^\$argon2id\$/);
    expect(byKind.totp!.secret_sealed).not.toContain(enrollment.secret);

    const session = await sessionRow(f, done.established.session.id);
    expect(session).toMatchObject({ aal: 2, phishing_resistant: false, recovery: false });
    expect(sorted(session.amr)).toEqual(['otp', 'pwd']);
    expect(sorted(session.factor_ids)).toEqual(sorted([byKind.password!.id, byKind.totp!.id]));
    expect((await findSession(f, done.established.token))?.user.id).toBe(done.user.id);

    const signup = await auditRows(f, 'user.signup', done.user.id);
    expect(signup).toHaveLength(1);
    expect(signup[0]!.details).toMatchObject({ method: 'password_totp' });
    expect(sorted(signup[0]!.details.factorIds as string[])).toEqual(sorted(factors.map((factor) => factor.id)));
    expect((await auditRows(f, 'session.create', done.user.id)).map((row) => row.session_id)).toEqual([session.id]);
    expect((await notifications(f, done.user.id, 'new_sign_in')).map((n) => n.payload.sessionId)).toEqual([session.id]);

    // The ceremony is spent.
    await expect(finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) })).rejects.toMatchObject({
      code: 'ceremony_invalid',
    });
  });

  it('the backup codes it showed work at sign-in', async () => {
    const user = await signUpTotpUser(f);
    const recovered = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[3]! });
    expect(recovered.user.id).toBe(user.user.id);
    expect(recovered.result.remaining).toBe(9);
  });

  it('a wrong code is code_invalid and creates nobody; the attempts run out', async () => {
    const username = uniqueUsername('totp');
    const enrollment = await startTotpSignUp(f.deps, anonymous(f), { username, password: PASSWORD, displayName: null });
    for (let i = 0; i < ENROLLMENT_MAX_ATTEMPTS; i++) {
      await expect(finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: enrollment.ceremonyId, code: wrongCodeFor(enrollment.otpauthUri) })).rejects.toMatchObject({
        code: 'code_invalid',
        details: { attemptsLeft: ENROLLMENT_MAX_ATTEMPTS - 1 - i },
      });
    }
    await expect(finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) })).rejects.toMatchObject({
      code: 'ceremony_invalid',
    });
    expect(await f.t.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()).toBeUndefined();
  });

  it('an expired enrollment is ceremony_invalid', async () => {
    const enrollment = await startTotpSignUp(f.deps, anonymous(f), { username: uniqueUsername('totp'), password: PASSWORD, displayName: null });
    f.t.clock.advance(10 * 60 + 1);
    await expect(finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) })).rejects.toMatchObject({
      code: 'ceremony_invalid',
    });
  });

  it('refuses a weak password and a taken username before anything is stored', async () => {
    const ceremoniesBefore = (await f.t.db.selectFrom('ceremonies').select('id_hash').execute()).length;
    await expect(startTotpSignUp(f.deps, anonymous(f), { username: uniqueUsername('totp'), password: 'short', displayName: null })).rejects.toMatchObject({
      code: 'weak_password',
      details: { reason: 'too_short' },
    });
    const username = uniqueUsername('totp');
    await expect(startTotpSignUp(f.deps, anonymous(f), { username, password: username, displayName: null })).rejects.toMatchObject({
      code: 'weak_password',
      details: { reason: 'username' },
    });
    const existing = await signUpTotpUser(f);
    const afterSignUp = (await f.t.db.selectFrom('ceremonies').select('id_hash').execute()).length;
    expect(afterSignUp).toBe(ceremoniesBefore + 1);
    await expect(startTotpSignUp(f.deps, anonymous(f), { username: existing.username, password: PASSWORD, displayName: null })).rejects.toMatchObject({ code: 'username_taken' });
    expect((await f.t.db.selectFrom('ceremonies').select('id_hash').execute()).length).toBe(afterSignUp);
  });

  it('two enrollments for one name: the second to finish is username_taken, and nothing of it is kept', async () => {
    const username = uniqueUsername('race');
    const first = await startTotpSignUp(f.deps, anonymous(f), { username, password: PASSWORD, displayName: null });
    const second = await startTotpSignUp(f.deps, anonymous(f), { username, password: PASSWORD, displayName: null });
    const winner = await finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: first.ceremonyId, code: codeFromUri(first.otpauthUri, f.t.clock.now()) });
    const sessionsBefore = (await f.t.db.selectFrom('sessions').select('id').execute()).length;
    await expect(finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: second.ceremonyId, code: codeFromUri(second.otpauthUri, f.t.clock.now()) })).rejects.toMatchObject({
      code: 'username_taken',
    });
    expect((await f.t.db.selectFrom('users').select('id').where('username', '=', username).execute()).map((row) => row.id)).toEqual([winner.user.id]);
    expect((await f.t.db.selectFrom('sessions').select('id').execute()).length).toBe(sessionsBefore);
    expect(await auditRows(f, 'user.signup', winner.user.id)).toHaveLength(1);
  });
});
