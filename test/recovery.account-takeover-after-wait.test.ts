import { describe, expect, it } from 'vitest';
import { approveRecoveryAsAdmin, cancelRecoveryAsAdmin, openRecoveryAsAdmin, revealRecoveryLinkAsAdmin } from '../src/auth/admin/recovery.ts';
import { cancelOwnRecovery, showOwnRecovery } from '../src/auth/manage/recovery.ts';
import { LatchError } from '../src/errors.ts';
import { finishFallbackWithLink, startFallbackWithLink } from '../src/auth/enroll/link.ts';
import { addTotp, anonymous, auditRows, createFlows, findSession, notifications, notTheCode, passkeySignIn, signedInAs, signUpPasskeyUser } from './auth/helpers.ts';
import { codeFromUri } from './helpers/authenticator.ts';
import { capturingMailer, makeAdmin, registerOnLink, tick, tokenOf, withConfirmedEmail } from './recovery/helpers.ts';

/**
 * The threats: a recovery used to take over an account before its owner can notice (the wait,
 * cancel-on-sign-in, notifications), a recovery link used twice or late, and old factors or
 * sessions (a thief's) surviving a recovery.
 */
const f = await createFlows();
const HOUR = 3600;
const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error instanceof LatchError ? error.code : String(error)));

async function approvedRecovery(options: { email: boolean }) {
  const a = await makeAdmin(f);
  const b = await makeAdmin(f);
  const user = await signUpPasskeyUser(f);
  const totp = await addTotp(f, await signedInAs(f, user.established));
  const email = options.email ? await withConfirmedEmail(f, user.user.id) : null;
  const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'lost every factor' });
  const approved = await approveRecoveryAsAdmin(f.deps, await b.fresh(), { requestId: opened.id });
  return { a, b, user, totp, email, request: approved };
}

const statusOf = async (id: string) => (await f.t.db.selectFrom('recovery_requests').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

describe('recovery: the waiting period, the link, and what ends', () => {
  it('no link before the wait ends; then one by mail; registering on it ends every old factor and session in one go', async () => {
    const { user, email, request } = await approvedRecovery({ email: true });
    const mailer = capturingMailer();
    const oldSession = user.established.token;
    expect(await findSession(f, oldSession)).not.toBeNull();

    f.t.clock.advance(24 * HOUR - 1);
    expect(await tick(f, mailer)).toMatchObject({ sent: 0 });
    expect(mailer.sent).toHaveLength(0);
    f.t.clock.advance(1);
    expect(await tick(f, mailer)).toMatchObject({ sent: 1 });
    expect(await tick(f, mailer)).toMatchObject({ sent: 0 });
    const [mail] = mailer.sent;
    expect(mail).toMatchObject({ to: email, kind: 'recovery_link', subject: expect.stringContaining('recovery link') });
    const token = tokenOf(mail!.text)!;
    expect(token).not.toBeNull();
    // Only the hash is stored, and no notification row or audit row holds the token.
    const everything = JSON.stringify([
      await f.t.db.selectFrom('enrollment_links').selectAll().execute(),
      await f.t.db.selectFrom('notifications').selectAll().execute(),
      await f.t.db.selectFrom('audit_events').selectAll().execute(),
      await f.t.db.selectFrom('recovery_requests').selectAll().execute(),
    ]);
    expect(everything).not.toContain(token);
    expect(await statusOf(request.id)).toBe('ready');

    f.t.clock.advance(30 * 60);
    const done = await registerOnLink(f, token);
    expect(done.purpose).toBe('recovery');
    expect(await statusOf(request.id)).toBe('completed');
    const factors = await f.t.db.selectFrom('factors').select(['id', 'kind', 'status', 'revoked_reason']).where('user_id', '=', user.user.id).execute();
    const active = factors.filter((factor) => factor.status === 'active');
    expect(active.map((factor) => factor.kind)).toEqual(['passkey']);
    expect(factors.filter((factor) => factor.status === 'revoked').every((factor) => factor.revoked_reason === 'recovery')).toBe(true);
    expect(factors.filter((factor) => factor.status === 'revoked').map((factor) => factor.kind).sort()).toEqual(['backup_codes', 'passkey', 'totp']);
    // The old session (say, a thief's) is refused; the new one works.
    expect(await findSession(f, oldSession)).toBeNull();
    const live = await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).where('revoked_at', 'is', null).execute();
    expect(live.map((session) => session.id)).toEqual([done.established.session.id]);
    // The old passkey no longer signs in.
    expect(await code(passkeySignIn(f, user))).not.toBe('ok');
    // Audited as one chain, each revocation through revokeFactor.
    expect((await auditRows(f, 'factor.revoke', user.user.id)).map((row) => row.details.reason)).toEqual(['recovery', 'recovery', 'recovery']);
    const complete = await auditRows(f, 'recovery.complete', user.user.id);
    expect(complete.map((row) => row.details)).toEqual([expect.objectContaining({ requestId: request.id, revokedFactors: 3 })]);
    expect((await notifications(f, user.user.id)).map((row) => row.kind)).toContain('recovery_completed');
    const user2 = await f.t.db.selectFrom('users').select('recovery_pending').where('id', '=', user.user.id).executeTakeFirstOrThrow();
    expect(user2.recovery_pending).toBe(false);

    // Single use.
    expect(await code(registerOnLink(f, token))).toBe('enrollment_link_invalid');
  });

  it('the link expires after an hour unused, and the request ends with it', async () => {
    const { user, request } = await approvedRecovery({ email: true });
    const mailer = capturingMailer();
    f.t.clock.advance(24 * HOUR);
    await tick(f, mailer);
    const token = tokenOf(mailer.sent[0]!.text)!;
    f.t.clock.advance(HOUR);
    expect(await code(registerOnLink(f, token))).toBe('enrollment_link_invalid');
    expect(await tick(f, mailer)).toMatchObject({ expired: 1 });
    expect(await statusOf(request.id)).toBe('expired');
    expect((await f.t.db.selectFrom('factors').select('status').where('user_id', '=', user.user.id).execute()).every((factor) => factor.status === 'active')).toBe(true);
  });

  it('any sign-in by the user during the wait cancels it (told), and no link follows', async () => {
    const { user, request } = await approvedRecovery({ email: true });
    const mailer = capturingMailer();
    f.t.clock.advance(2 * HOUR);
    await passkeySignIn(f, user);
    expect(await statusOf(request.id)).toBe('cancelled');
    const cancelled = await auditRows(f, 'recovery.cancel', user.user.id);
    expect(cancelled.map((row) => row.details.reason)).toEqual(['signed_in']);
    const told = await notifications(f, user.user.id, 'recovery_cancelled');
    expect(told.map((row) => row.payload)).toEqual([expect.objectContaining({ reason: 'signed_in' })]);
    f.t.clock.advance(24 * HOUR);
    expect(await tick(f, mailer)).toMatchObject({ sent: 0 });
    // Even once the link is out, a sign-in with an old factor withdraws it.
    const second = await approvedRecovery({ email: true });
    f.t.clock.advance(24 * HOUR);
    await tick(f, mailer);
    const token = tokenOf(mailer.sent.at(-1)!.text)!;
    await passkeySignIn(f, second.user);
    expect(await statusOf(second.request.id)).toBe('cancelled');
    expect(await code(registerOnLink(f, token))).toBe('enrollment_link_invalid');
  });

  it('the user or either admin can cancel; the user sees their pending request', async () => {
    const { user, request } = await approvedRecovery({ email: true });
    // The session made before the recovery is still live (signing in again would cancel it).
    const requester = await signedInAs(f, user.established);
    expect((await showOwnRecovery(f.deps, requester)).recovery).toMatchObject({ id: request.id, status: 'waiting', waitEndsAt: request.waitEndsAt });
    expect((await cancelOwnRecovery(f.deps, requester)).recovery.status).toBe('cancelled');
    expect((await showOwnRecovery(f.deps, requester)).recovery).toBeNull();

    const other = await approvedRecovery({ email: false });
    const cancelled = await cancelRecoveryAsAdmin(f.deps, await other.a.fresh(), { requestId: other.request.id });
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelReason: 'by_admin' });
    expect(await code(cancelRecoveryAsAdmin(f.deps, await other.b.fresh(), { requestId: other.request.id }))).toBe('recovery_state');
  });

  it('without a confirmed address: shown once, to the approving admin only, and only after the wait', async () => {
    const { a, b, user, request } = await approvedRecovery({ email: false });
    expect(await code(revealRecoveryLinkAsAdmin(f.deps, await b.fresh(), { requestId: request.id }))).toBe('recovery_waiting');
    f.t.clock.advance(24 * HOUR);
    expect(await code(revealRecoveryLinkAsAdmin(f.deps, await a.fresh(), { requestId: request.id }))).toBe('forbidden');
    const shown = await revealRecoveryLinkAsAdmin(f.deps, await b.fresh(), { requestId: request.id });
    expect(new Date(shown.expiresAt).getTime() - f.t.clock.now().getTime()).toBe(HOUR * 1000);
    expect(await code(revealRecoveryLinkAsAdmin(f.deps, await b.fresh(), { requestId: request.id }))).toBe('recovery_state');
    const token = tokenOf(shown.url)!;
    const done = await registerOnLink(f, token);
    expect(done.user.id).toBe(user.user.id);
    expect(await statusOf(request.id)).toBe('completed');
  });

  it('a user with a confirmed address never has the link shown to an admin', async () => {
    const { b, request } = await approvedRecovery({ email: true });
    f.t.clock.advance(24 * HOUR);
    expect(await code(revealRecoveryLinkAsAdmin(f.deps, await b.fresh(), { requestId: request.id }))).toBe('recovery_state');
  });
});

describe('recovery without WebAuthn: a new password, authenticator app and backup codes on the link', () => {
  it('a wrong code changes nothing; the right one ends every old factor and session and signs in with the new ones', async () => {
    const { b, user, request } = await approvedRecovery({ email: false });
    f.t.clock.advance(24 * HOUR);
    const { url } = await revealRecoveryLinkAsAdmin(f.deps, await b.fresh(), { requestId: request.id });
    const token = tokenOf(url)!;
    expect(await code(startFallbackWithLink(f.deps, anonymous(f), { token, password: 'short' }))).toBe('weak_password');
    const enrollment = await startFallbackWithLink(f.deps, anonymous(f), { token, password: 'a long new recovery passphrase 7' });
    expect(await code(finishFallbackWithLink(f.deps, anonymous(f), { token, ceremonyId: enrollment.ceremonyId, code: notTheCode({ code: (offset = 0) => codeFromUri(enrollment.otpauthUri, f.t.clock.now(), offset) }) }))).toBe('code_invalid');
    expect(await statusOf(request.id)).toBe('ready');
    expect((await f.t.db.selectFrom('factors').select('status').where('user_id', '=', user.user.id).execute()).every((factor) => factor.status === 'active')).toBe(true);

    const done = await finishFallbackWithLink(f.deps, anonymous(f), { token, ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) });
    expect(done.backupCodes).toHaveLength(10);
    expect(await statusOf(request.id)).toBe('completed');
    const old = await f.t.db.selectFrom('sessions').select(['revoked_at']).where('user_id', '=', user.user.id).where('id', '!=', done.established.session.id).execute();
    expect(old.length).toBeGreaterThan(0);
    expect(old.every((session) => session.revoked_at !== null)).toBe(true);
    const factors = await f.t.db.selectFrom('factors').select(['kind', 'status']).where('user_id', '=', user.user.id).execute();
    expect(factors.filter((factor) => factor.status === 'active').map((factor) => factor.kind).sort()).toEqual(['backup_codes', 'password', 'totp']);
    expect(factors.filter((factor) => factor.status === 'revoked').map((factor) => factor.kind).sort()).toEqual(['backup_codes', 'passkey', 'totp']);
    expect(await findSession(f, done.established.token)).not.toBeNull();
    // The link is used up, for both ways.
    expect(await code(startFallbackWithLink(f.deps, anonymous(f), { token, password: 'another long passphrase 8' }))).toBe('enrollment_link_invalid');
    expect(await code(registerOnLink(f, token))).toBe('enrollment_link_invalid');
  });

  it('an admin link does not offer it (administration needs a passkey); a recovery link always needs a new password', async () => {
    const { createEnrollmentLink } = await import('../src/enrollment/links.ts');
    const user = await signUpPasskeyUser(f);
    const { token } = await createEnrollmentLink(f.t.db, f.t.keyring, { userId: user.user.id, purpose: 'admin', ttlSeconds: 3600, createdBy: null, now: f.t.clock.now() });
    expect(await code(startFallbackWithLink(f.deps, anonymous(f), { token, password: 'a long new recovery passphrase 7' }))).toBe('enrollment_link_invalid');
    const recovery = await createEnrollmentLink(f.t.db, f.t.keyring, { userId: user.user.id, purpose: 'recovery', ttlSeconds: 3600, createdBy: null, now: f.t.clock.now() });
    expect(await code(startFallbackWithLink(f.deps, anonymous(f), { token: recovery.token }))).toBe('validation_failed');
  });
});
