import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../src/admin/actor.ts';
import { adoptionStats } from '../../src/admin/stats.ts';
import { setAdminRole } from '../../src/admin/users.ts';
import { addGroupMembersAsAdmin, createGroupAsAdmin, listGroupsAsAdmin, removeGroupMemberAsAdmin, setGroupPolicyAsAdmin } from '../../src/auth/admin/groups.ts';
import {
  clearUserPasskeyFlag,
  disableUserAsAdmin,
  enableUserAsAdmin,
  endSessionAsAdmin,
  findUsers,
  grantUserExemption,
  liftUserExemption,
  revokeUserFactor,
  setUserAdminRole,
  viewUser,
} from '../../src/auth/admin/users.ts';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import type { Requester } from '../../src/auth/requester.ts';
import {
  activeFactor,
  addTotp,
  anonymous,
  auditRows,
  createFlows,
  expectNoSession,
  findSession,
  notifications,
  passkeySignIn,
  sessionRow,
  sessionsOf,
  signedInAs,
  signInTotp,
  signUpPasskeyUser,
  signUpTotpUser,
  ticketFor,
  uniqueUsername,
  type PasskeyUser,
} from './helpers.ts';

const f = await createFlows();

/** A passkey user made admin (as the CLI would), signed in with a passkey just now. */
async function signUpAdmin(): Promise<PasskeyUser & { requester: () => Promise<Requester> }> {
  const admin = await signUpPasskeyUser(f, {}, { username: uniqueUsername('admin') });
  await f.t.db.transaction().execute((trx) => setAdminRole(trx, anonymous(f), CLI_ACTOR, { userId: admin.user.id, isAdmin: true }));
  return { ...admin, requester: () => signedInAs(f, admin.established) };
}

describe('admin flows: the policy engine decides first', () => {
  it('a member is refused (forbidden, not_admin) and the attempt is audited as denied', async () => {
    const member = await signUpPasskeyUser(f);
    const target = await signUpPasskeyUser(f);
    await expect(disableUserAsAdmin(f.deps, await signedInAs(f, member.established), { userId: target.user.id })).rejects.toMatchObject({
      code: 'forbidden',
      details: { reason: 'not_admin' },
    });
    await expect(findUsers(f.deps, await signedInAs(f, member.established), { limit: 10 })).rejects.toMatchObject({ code: 'forbidden' });
    expect((await findSession(f, target.established.token))?.user.status).toBe('active');
    expect((await auditRows(f, 'admin.access', member.user.id)).map((row) => [row.outcome, row.details.requested])).toEqual([
      ['denied', 'admin.write'],
      ['denied', 'admin.read'],
    ]);
  });

  it('an admin signed in with password + app must step up with a passkey (the code is not enough)', async () => {
    const admin = await signUpTotpUser(f);
    await f.t.db.updateTable('users').set({ is_admin: true }).where('id', '=', admin.user.id).execute();
    // No passkey to step up with: nothing can satisfy it.
    await expect(findUsers(f.deps, await signedInAs(f, admin.established), { limit: 10 })).rejects.toMatchObject({ code: 'forbidden', details: { reason: 'no_step_up_method' } });
  });
});

describe('disabling and enabling a user', () => {
  it('ends every session at once, audits with the admin as actor and the user as subject, and the user cannot sign in again', async () => {
    const admin = await signUpAdmin();
    const target = await signUpTotpUser(f);
    const second = await signInTotp(f, target);
    const result = await disableUserAsAdmin(f.deps, await admin.requester(), { userId: target.user.id });
    expect(result).toMatchObject({ user: { status: 'disabled' }, endedSessions: 2 });
    await expectNoSession(f, target.established.token);
    await expectNoSession(f, second.established.token);
    expect((await sessionsOf(f, target.user.id)).map((session) => session.revoked_reason)).toEqual(['account_disabled', 'account_disabled']);
    expect((await auditRows(f, 'user.disable', target.user.id)).map((row) => [row.actor_user_id, row.session_id, row.details])).toEqual([
      [admin.user.id, admin.established.session.id, { endedSessions: 2, via: 'api' }],
    ]);

    // Disabled: the password + code path never makes a session.
    f.t.clock.advance(30);
    const ticket = await ticketFor(f, target);
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket, code: target.code(), rememberDevice: false })).rejects.toMatchObject({ code: 'code_invalid' });
    expect((await sessionsOf(f, target.user.id)).filter((session) => session.revoked_at === null)).toEqual([]);

    const enabled = await enableUserAsAdmin(f.deps, await admin.requester(), { userId: target.user.id });
    expect(enabled.status).toBe('active');
    expect((await auditRows(f, 'user.enable', target.user.id)).map((row) => row.actor_user_id)).toEqual([admin.user.id]);
    expect((await signInTotp(f, target)).established.session.user_id).toBe(target.user.id);
  });

  it('a disabled passkey user cannot sign in with their passkey', async () => {
    const admin = await signUpAdmin();
    const target = await signUpPasskeyUser(f);
    await disableUserAsAdmin(f.deps, await admin.requester(), { userId: target.user.id });
    await expect(passkeySignIn(f, target)).rejects.toMatchObject({ code: 'passkey_verification_failed' });
    expect((await auditRows(f, 'passkey.signin', target.user.id)).at(-1)).toMatchObject({ outcome: 'failure', details: { reason: 'account_disabled' } });
  });

  it('an admin cannot disable themselves; an unknown or malformed id is user_not_found', async () => {
    const admin = await signUpAdmin();
    await expect(disableUserAsAdmin(f.deps, await admin.requester(), { userId: admin.user.id })).rejects.toMatchObject({ code: 'forbidden', details: { reason: 'self' } });
    await expect(disableUserAsAdmin(f.deps, await admin.requester(), { userId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'user_not_found' });
    await expect(disableUserAsAdmin(f.deps, await admin.requester(), { userId: 'nope' })).rejects.toMatchObject({ code: 'user_not_found' });
  });
});

describe('sessions and factors of another user', () => {
  it('ends one session of any user, audited', async () => {
    const admin = await signUpAdmin();
    const target = await signUpPasskeyUser(f);
    const other = await passkeySignIn(f, target);
    await endSessionAsAdmin(f.deps, await admin.requester(), { sessionId: other.established.session.id });
    await expectNoSession(f, other.established.token);
    expect(await findSession(f, target.established.token)).not.toBeNull();
    expect(await sessionRow(f, other.established.session.id)).toMatchObject({ revoked_reason: 'ended_by_admin' });
    expect((await auditRows(f, 'session.end', target.user.id)).map((row) => [row.actor_user_id, row.details.endedSessionId])).toEqual([
      [admin.user.id, other.established.session.id],
    ]);
    await expect(endSessionAsAdmin(f.deps, await admin.requester(), { sessionId: other.established.session.id })).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('revokes a factor through revokeFactor: the sessions it made end, the user is told an admin did it', async () => {
    const admin = await signUpAdmin();
    const target = await signUpPasskeyUser(f);
    const app = await addTotp(f, await signedInAs(f, target.established));
    const passkey = await activeFactor(f, target.user.id, 'passkey');
    const result = await revokeUserFactor(f.deps, await admin.requester(), { userId: target.user.id, factorId: passkey.id });
    expect(result).toMatchObject({ factor: { id: passkey.id, status: 'revoked', revoked_by: admin.user.id, revoked_reason: 'revoked_by_admin' }, endedSessions: 1 });
    await expectNoSession(f, target.established.token);
    expect((await auditRows(f, 'factor.revoke', target.user.id)).at(-1)).toMatchObject({ actor_user_id: admin.user.id, factor_id: passkey.id, outcome: 'success' });
    expect((await notifications(f, target.user.id, 'factor_removed')).at(-1)!.payload).toMatchObject({ factorId: passkey.id, byAdmin: true });
    // Another user's factor under this user's id is not found.
    const stranger = await signUpPasskeyUser(f);
    await expect(revokeUserFactor(f.deps, await admin.requester(), { userId: stranger.user.id, factorId: app.factor.id })).rejects.toMatchObject({ code: 'factor_not_found' });
  });

  it('clears a passkey flagged as a possible clone, with the owner\u2019s clear-flag code', async () => {
    const admin = await signUpAdmin();
    const target = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, target.user.id, 'passkey');
    await f.t.db.updateTable('factors').set({ flagged_at: f.t.clock.now(), flagged_reason: 'sign_count_not_increasing' }).where('id', '=', passkey.id).execute();
    const cleared = await clearUserPasskeyFlag(f.deps, await admin.requester(), { userId: target.user.id, factorId: passkey.id });
    expect(cleared).toMatchObject({ id: passkey.id, flagged_at: null });
    expect((await auditRows(f, 'factor.flag_cleared', target.user.id)).map((row) => row.actor_user_id)).toEqual([admin.user.id]);
  });
});

describe('exemptions, roles, groups, search and figures', () => {
  it('grants and lifts an exemption with a reason and an end date, audited; the profile shows it', async () => {
    const admin = await signUpAdmin();
    const target = await signUpTotpUser(f);
    const expiresAt = new Date(f.t.clock.now().getTime() + 30 * 86400_000);
    const granted = await grantUserExemption(f.deps, await admin.requester(), { userId: target.user.id, reason: 'Lab machine without USB', expiresAt });
    expect(granted).toMatchObject({ reason: 'Lab machine without USB', expiresAt: expiresAt.toISOString(), grantedBy: admin.user.id });
    expect((await viewUser(f.deps, await admin.requester(), { userId: target.user.id })).exemption).toMatchObject({ reason: 'Lab machine without USB' });
    await expect(grantUserExemption(f.deps, await admin.requester(), { userId: target.user.id, reason: '  ', expiresAt: null })).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await liftUserExemption(f.deps, await admin.requester(), { userId: target.user.id })).toEqual({ lifted: true });
    expect((await viewUser(f.deps, await admin.requester(), { userId: target.user.id })).exemption).toBeNull();
    expect((await auditRows(f, 'exemption.grant', target.user.id)).map((row) => [row.actor_user_id, row.details.reason])).toEqual([[admin.user.id, 'Lab machine without USB']]);
    expect((await auditRows(f, 'exemption.lift', target.user.id)).length).toBe(1);
  });

  it('the profile shows factors without secrets, sessions, groups and the audit trail', async () => {
    const admin = await signUpAdmin();
    const target = await signUpTotpUser(f);
    const profile = await viewUser(f.deps, await admin.requester(), { userId: target.user.id });
    expect(profile.user).toMatchObject({ id: target.user.id, username: target.username, status: 'active', isAdmin: false });
    expect(profile.factors.map((factor) => factor.kind).sort()).toEqual(['backup_codes', 'password', 'totp']);
    const text = JSON.stringify(profile);
    const rows = await f.t.db.selectFrom('factors').selectAll().where('user_id', '=', target.user.id).execute();
    for (const row of rows) {
      for (const secret of [row.secret_sealed, row.password_hash]) if (secret) expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/secret|hash|sealed|public_?key/i);
    expect(profile.sessions.map((session) => session.id)).toEqual([target.established.session.id]);
    expect(profile.groups.map((group) => group.name)).toEqual(['default']);
    expect(profile.audit.events.map((event) => event.action)).toContain('session.create');
  });

  it('refuses to demote the last administrator (audited), and promotes and demotes otherwise', async () => {
    // Only admins of this test: demote every other first.
    await f.t.db.updateTable('users').set({ is_admin: false }).execute();
    const admin = await signUpAdmin();
    await expect(setUserAdminRole(f.deps, await admin.requester(), { userId: admin.user.id, isAdmin: false })).rejects.toMatchObject({ code: 'last_admin' });
    expect((await auditRows(f, 'user.demote', admin.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['denied', 'last_admin']]);
    const other = await signUpPasskeyUser(f);
    await setUserAdminRole(f.deps, await admin.requester(), { userId: other.user.id, isAdmin: true });
    const demoted = await setUserAdminRole(f.deps, await admin.requester(), { userId: admin.user.id, isAdmin: false });
    expect(demoted).toMatchObject({ changed: true, user: { is_admin: false } });
    // Now a member: the next admin action is refused.
    await expect(findUsers(f.deps, await admin.requester(), { limit: 1 })).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('groups: create, policy, members; search by prefix, group and factor state; figures per group', async () => {
    const admin = await signUpAdmin();
    const prefix = uniqueUsername('sales').slice(0, 14);
    const passkeyOnly = await signUpPasskeyUser(f, {}, { username: `${prefix}-a` });
    const totpOnly = await signUpTotpUser(f, { username: `${prefix}-b` });
    const both = await signUpPasskeyUser(f, {}, { username: `${prefix}-c` });
    await addTotp(f, await signedInAs(f, both.established));
    await signUpTotpUser(f, { username: `${prefix}-d` });

    const group = await createGroupAsAdmin(f.deps, await admin.requester(), { name: `  ${prefix.toUpperCase()} Team ` });
    expect(group.name).toBe(`${prefix} team`);
    await expect(createGroupAsAdmin(f.deps, await admin.requester(), { name: `${prefix} team` })).rejects.toMatchObject({ code: 'group_exists' });
    const deadline = new Date('2027-03-01T00:00:00Z');
    await expect(setGroupPolicyAsAdmin(f.deps, await admin.requester(), { groupId: group.id, mode: 'required' })).rejects.toMatchObject({ code: 'validation_failed' });
    const policy = await setGroupPolicyAsAdmin(f.deps, await admin.requester(), { groupId: group.id, mode: 'required', deadline, retireTotpAfterPasskeySignIns: 5 });
    expect(policy).toMatchObject({ rollout_mode: 'required', passkey_deadline: deadline, retire_totp_after_passkey_sign_ins: 5, invite_again_after_days: 7 });

    const added = await addGroupMembersAsAdmin(f.deps, await admin.requester(), { groupId: group.id, userIds: [passkeyOnly.user.id, totpOnly.user.id, both.user.id, both.user.id] });
    expect(added.added.sort()).toEqual([passkeyOnly.user.id, totpOnly.user.id, both.user.id].sort());
    expect((await auditRows(f, 'group.member_add', totpOnly.user.id)).map((row) => [row.actor_user_id, row.details.name])).toEqual([[admin.user.id, group.name]]);

    const byPrefix = await findUsers(f.deps, await admin.requester(), { prefix: prefix.toUpperCase(), limit: 2 });
    expect(byPrefix.users.map((user) => user.username)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    const next = await findUsers(f.deps, await admin.requester(), { prefix, limit: 2, after: byPrefix.nextAfter });
    expect(next).toMatchObject({ users: [{ username: `${prefix}-c`, factorState: 'passkey_and_totp' }, { username: `${prefix}-d`, factorState: 'totp_only' }], nextAfter: null });
    const inGroup = await findUsers(f.deps, await admin.requester(), { groupId: group.id, factorState: 'totp_only', limit: 10 });
    expect(inGroup.users.map((user) => user.username)).toEqual([`${prefix}-b`]);
    // "%" and "_" in a prefix are literal characters, not wildcards.
    expect((await findUsers(f.deps, await admin.requester(), { prefix: '%', limit: 10 })).users).toEqual([]);

    const stats = await adoptionStats(f.t.db);
    expect(stats.groups.find((each) => each.id === group.id)!.counts).toEqual({
      users: 3,
      passkeyOnly: 1,
      passkeyAndTotp: 1,
      totpOnly: 1,
      noSecondFactor: 0,
      // The app user's sign-up codes and the codes that came with the other's app.
      withUnusedBackupCodes: 2,
    });
    expect(stats.groups[0]).toMatchObject({ name: 'default', isDefault: true, counts: stats.organization });

    await removeGroupMemberAsAdmin(f.deps, await admin.requester(), { groupId: group.id, userId: totpOnly.user.id });
    expect((await listGroupsAsAdmin(f.deps, await admin.requester())).find((each) => each.id === group.id)).toMatchObject({ members: 2, policy: { mode: 'required' } });
  });
});
