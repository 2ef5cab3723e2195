import { describe, expect, it } from 'vitest';
import { approveRecoveryAsAdmin, cancelRecoveryAsAdmin, openRecoveryAsAdmin } from '../src/auth/admin/recovery.ts';
import { LatchError } from '../src/errors.ts';
import { auditRows, createFlows, notifications, passkeySignIn, signedInAs, signUpPasskeyUser } from './auth/helpers.ts';
import { makeAdmin } from './recovery/helpers.ts';

/**
 * The threat: one administrator (malicious, or with a stolen session) takes over a user's account
 * through recovery. One admin opens, a *different* admin approves; a member can do neither; each
 * step needs a fresh passkey proof; every attempt is audited.
 */
const f = await createFlows();

const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error instanceof LatchError ? error.code : String(error)));

describe('recovery: no single administrator can take over an account', () => {
  it('the admin who opened a request cannot approve it; a second admin can; both audited, the user told', async () => {
    const a = await makeAdmin(f);
    const b = await makeAdmin(f);
    const user = await signUpPasskeyUser(f);
    const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'lost phone and key, verified by video call' });
    expect(opened).toMatchObject({ status: 'requested', openedBy: a.user.id, approvedBy: null, waitEndsAt: null });

    expect(await code(approveRecoveryAsAdmin(f.deps, await a.fresh(), { requestId: opened.id }))).toBe('recovery_same_admin');
    const denied = await auditRows(f, 'recovery.approve', user.user.id);
    expect(denied.map((row) => [row.outcome, row.actor_user_id, row.details.reason])).toEqual([['denied', a.user.id, 'same_admin']]);

    const approved = await approveRecoveryAsAdmin(f.deps, await b.fresh(), { requestId: opened.id });
    expect(approved).toMatchObject({ status: 'waiting', openedBy: a.user.id, approvedBy: b.user.id });
    expect(new Date(approved.waitEndsAt!).getTime() - f.t.clock.now().getTime()).toBe(24 * 3600 * 1000);
    expect((await auditRows(f, 'recovery.open', user.user.id)).map((row) => [row.actor_user_id, row.details.reason])).toEqual([[a.user.id, 'lost phone and key, verified by video call']]);
    expect((await auditRows(f, 'recovery.approve', user.user.id)).map((row) => row.outcome)).toEqual(['denied', 'success']);
    expect((await notifications(f, user.user.id)).map((row) => row.kind)).toEqual(expect.arrayContaining(['recovery_requested', 'recovery_approved']));
    // Approved once: a second approval is refused, by anyone.
    expect(await code(approveRecoveryAsAdmin(f.deps, await b.fresh(), { requestId: opened.id }))).toBe('recovery_state');
    await cancelRecoveryAsAdmin(f.deps, await a.fresh(), { requestId: opened.id });
  });

  it('the database itself refuses opened_by = approved_by', async () => {
    const a = await makeAdmin(f);
    const user = await signUpPasskeyUser(f);
    const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'x' });
    await expect(f.t.db.updateTable('recovery_requests').set({ approved_by: a.user.id, status: 'waiting' }).where('id', '=', opened.id).execute()).rejects.toThrow(/recovery_two_admins/);
    await cancelRecoveryAsAdmin(f.deps, await a.fresh(), { requestId: opened.id });
  });

  it('a member can neither open nor approve (forbidden, audited as denied)', async () => {
    const a = await makeAdmin(f);
    const member = await signUpPasskeyUser(f);
    const user = await signUpPasskeyUser(f);
    const memberRequester = await signedInAs(f, (await passkeySignIn(f, member)).established);
    expect(await code(openRecoveryAsAdmin(f.deps, memberRequester, { userId: user.user.id, reason: 'let me in' }))).toBe('forbidden');
    const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'lost everything' });
    expect(await code(approveRecoveryAsAdmin(f.deps, memberRequester, { requestId: opened.id }))).toBe('forbidden');
    expect((await auditRows(f, 'admin.access', member.user.id)).map((row) => [row.outcome, row.details.requested])).toEqual([
      ['denied', 'admin.write'],
      ['denied', 'admin.write'],
    ]);
    expect((await f.t.db.selectFrom('recovery_requests').select('status').where('id', '=', opened.id).executeTakeFirstOrThrow()).status).toBe('requested');
    // Nor may the user approve their own recovery, even as an administrator.
    await f.t.db.updateTable('users').set({ is_admin: true }).where('id', '=', user.user.id).execute();
    const userAsAdmin = await signedInAs(f, (await passkeySignIn(f, user)).established);
    // (signing in cancelled the request: the user still has a way in)
    expect((await f.t.db.selectFrom('recovery_requests').select('status').where('id', '=', opened.id).executeTakeFirstOrThrow()).status).toBe('cancelled');
    const again = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'again' });
    expect(await code(approveRecoveryAsAdmin(f.deps, userAsAdmin, { requestId: again.id }))).toBe('recovery_same_admin');
    expect(await code(openRecoveryAsAdmin(f.deps, userAsAdmin, { userId: user.user.id, reason: 'me' }))).toBe('recovery_not_allowed');
  });

  it('an admin without a fresh passkey proof must step up first (the policy engine decides)', async () => {
    const a = await makeAdmin(f);
    const user = await signUpPasskeyUser(f);
    const stale = await a.fresh();
    f.t.clock.advance(6 * 60);
    expect(await code(openRecoveryAsAdmin(f.deps, { ...stale, now: f.t.clock.now() }, { userId: user.user.id, reason: 'x' }))).toBe('step_up_required');
  });

  it('one open request per user; opening is rate-limited per user', async () => {
    const a = await makeAdmin(f);
    const user = await signUpPasskeyUser(f);
    const first = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'one' });
    expect(await code(openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'two' }))).toBe('recovery_already_open');
    await cancelRecoveryAsAdmin(f.deps, await a.fresh(), { requestId: first.id });
    for (const reason of ['three', 'four']) {
      const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason });
      await cancelRecoveryAsAdmin(f.deps, await a.fresh(), { requestId: opened.id });
    }
    expect(await code(openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'too many' }))).toBe('rate_limited');
  });
});
