import { describe, expect, it } from 'vitest';
import { addPasskey as addPasskeyWithSession, startAddingPasskey } from '../../src/auth/enroll/passkey.ts';
import { skipPasskeyInvitation } from '../../src/auth/manage/rollout.ts';
import { signInWithBackupCode } from '../../src/auth/sign-in/second-factor.ts';
import { stepUpWithTotp } from '../../src/auth/step-up.ts';
import type { RolloutMode } from '../../src/db/schema.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import {
  activeFactor,
  addPasskey,
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
  signUpTotpUser,
  ticketFor,
  uniqueUsername,
  type TotpUser,
} from './helpers.ts';

/**
 * The passkey rollout through the flows (no HTTP): each mode with the fake clock walked across the
 * deadline, the exemption, the restricted session lifted by its first passkey, the automatic
 * upgrade's window, and TOTP retirement through revokeFactor.
 */

const f = await createFlows();
const DAY = 24 * 60 * 60;

/** A group with this policy, the user in it. */
async function inGroup(user: TotpUser, policy: { mode: RolloutMode; deadline?: Date | null; inviteAgainAfterDays?: number; retireAfter?: number | null }) {
  const now = f.t.clock.now();
  const group = await f.t.db
    .insertInto('groups')
    .values({
      name: uniqueUsername('group'),
      rollout_mode: policy.mode,
      passkey_deadline: policy.deadline ?? null,
      invite_again_after_days: policy.inviteAgainAfterDays ?? 7,
      retire_totp_after_passkey_sign_ins: policy.retireAfter ?? null,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await f.t.db.insertInto('group_members').values({ group_id: group.id, user_id: user.user.id, added_at: now }).execute();
  return group;
}

async function rolloutOf(established: { session: { id: string } }) {
  const row = await sessionRow(f, established.session.id);
  return { restricted: row.restricted_reason, invited: row.passkey_invited_at !== null, deadline: row.rollout_deadline };
}

describe('encouraged', () => {
  it('invites after a fallback sign-in; "Not now" is remembered and the invitation returns after the interval', async () => {
    const user = await signUpTotpUser(f);
    await inGroup(user, { mode: 'encouraged', inviteAgainAfterDays: 3 });
    const first = await signInTotp(f, user);
    expect((first.established as unknown as { rollout: unknown }).rollout).toEqual({ kind: 'invite', deadline: null, daysLeft: null });
    expect(await rolloutOf(first.established)).toEqual({ restricted: null, invited: true, deadline: null });
    expect((await auditRows(f, 'session.create', user.user.id)).at(-1)?.details).toMatchObject({ rollout: 'invite' });

    await skipPasskeyInvitation(f.deps, await signedInAs(f, first.established));
    expect((await rolloutOf(first.established)).invited).toBe(false);
    expect(await auditRows(f, 'rollout.invite_skip', user.user.id)).toHaveLength(1);

    f.t.clock.advance(2 * DAY);
    expect((await rolloutOf((await signInTotp(f, user)).established)).invited).toBe(false);
    f.t.clock.advance(1 * DAY);
    expect((await rolloutOf((await signInTotp(f, user)).established)).invited).toBe(true);
    // A backup-code sign-in is a fallback too.
    const recovered = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[0]! });
    expect((await rolloutOf(recovered.established)).invited).toBe(true);
  });
});

describe('required', () => {
  it('before the deadline an invitation with the days left; from it a restricted session, lifted by the first passkey', async () => {
    const user = await signUpTotpUser(f);
    const deadline = new Date(f.t.clock.now().getTime() + 10 * DAY * 1000);
    await inGroup(user, { mode: 'encouraged' });
    await inGroup(user, { mode: 'required', deadline });
    const before = await signInTotp(f, user);
    expect((before.established as unknown as { rollout: unknown }).rollout).toEqual({ kind: 'invite', deadline, daysLeft: 10 });
    expect(await rolloutOf(before.established)).toEqual({ restricted: null, invited: true, deadline });

    f.t.clock.set(deadline);
    const after = await signInTotp(f, user);
    expect(await rolloutOf(after.established)).toEqual({ restricted: 'passkey_required', invited: false, deadline });
    expect((await auditRows(f, 'session.create', user.user.id)).at(-1)?.details).toMatchObject({ rollout: 'restricted' });

    // Enrolling right after the sign-in: the fallback's proof is fresh (factor.add: AAL2 within 5 minutes).
    f.t.clock.advance(60);
    const requester = await signedInAs(f, after.established);
    const started = await startAddingPasskey(f.deps, f.rp, requester);
    const key = new SoftAuthenticator();
    const added = await addPasskeyWithSession(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: key.register(started.options), label: null });
    // Lifted with a new token; the session keeps the fallback's assurance, and the passkey bound in it cannot raise it.
    expect(added.established).not.toBeNull();
    await expectNoSession(f, after.established.token);
    const lifted = (await findSession(f, added.established!.token))!.session;
    expect(lifted).toMatchObject({ id: after.established.session.id, restricted_reason: null, aal: 2, phishing_resistant: false });
    expect(added.factor.bound_session_id).toBe(lifted.id);
    expect((await auditRows(f, 'factor.add', user.user.id)).at(-1)?.details).toMatchObject({ liftedRestriction: true });

    // With a passkey, a later fallback sign-in is neither restricted nor invited.
    expect(await rolloutOf((await signInTotp(f, user)).established)).toEqual({ restricted: null, invited: false, deadline: null });
  });

  it('a remembered browser past the deadline: restricted, and the TOTP step-up it needs before enrolling is allowed', async () => {
    const user = await signUpTotpUser(f);
    const remembered = await signInTotp(f, user, { rememberDevice: true });
    await inGroup(user, { mode: 'required', deadline: f.t.clock.now() });
    f.t.clock.advance(60);
    const { submitPassword } = await import('../../src/auth/sign-in/password.ts');
    const step = await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken: remembered.result.rememberedDevice!.token });
    if (step.kind !== 'signed_in') throw new Error(`expected a remembered sign-in, got ${step.kind}`);
    expect((await rolloutOf(step.established)).restricted).toBe('passkey_required');
    await expect(startAddingPasskey(f.deps, f.rp, await signedInAs(f, step.established))).rejects.toMatchObject({ code: 'step_up_required' });
    f.t.clock.advance(30);
    const stepped = await stepUpWithTotp(f.deps, await signedInAs(f, step.established), { code: user.code() });
    // The step-up proves presence but does not lift the restriction; enrolling now may start.
    expect((await rolloutOf(stepped)).restricted).toBe('passkey_required');
    await expect(startAddingPasskey(f.deps, f.rp, await signedInAs(f, stepped))).resolves.toMatchObject({ ceremonyId: expect.any(String) });
  });

  it('an exemption lifts the requirement (an invitation instead); once it ends, the session is restricted', async () => {
    const user = await signUpTotpUser(f);
    await inGroup(user, { mode: 'required', deadline: f.t.clock.now() });
    const ends = new Date(f.t.clock.now().getTime() + 3 * DAY * 1000);
    await f.t.db.insertInto('passkey_exemptions').values({ user_id: user.user.id, reason: 'No phone at work', expires_at: ends, granted_by: null, created_at: f.t.clock.now() }).execute();
    expect(await rolloutOf((await signInTotp(f, user)).established)).toEqual({ restricted: null, invited: true, deadline: null });
    f.t.clock.set(ends);
    expect((await rolloutOf((await signInTotp(f, user)).established)).restricted).toBe('passkey_required');
  });

  it('optional: nothing at all', async () => {
    const user = await signUpTotpUser(f);
    await inGroup(user, { mode: 'optional' });
    expect(await rolloutOf((await signInTotp(f, user)).established)).toEqual({ restricted: null, invited: false, deadline: null });
  });
});

describe('automatic passkey upgrade (conditional create)', () => {
  it('accepted within five minutes of a password + TOTP sign-in, labelled, audited and notified', async () => {
    const user = await signUpTotpUser(f);
    const signedIn = await signInTotp(f, user);
    f.t.clock.advance(20);
    const requester = await signedInAs(f, signedIn.established);
    const started = await startAddingPasskey(f.deps, f.rp, requester, { automatic: true });
    const added = await addPasskeyWithSession(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: new SoftAuthenticator().register(started.options), label: null });
    expect(added.factor.label).toMatch(/\(added automatically\)$/);
    expect((await auditRows(f, 'factor.add', user.user.id)).at(-1)?.details).toMatchObject({ automatic: true });
    expect(await notifications(f, user.user.id, 'passkey_upgraded')).toHaveLength(1);
  });

  it('refused after the window, at the start or at the finish, and nothing is added', async () => {
    const user = await signUpTotpUser(f);
    const signedIn = await signInTotp(f, user);
    f.t.clock.advance(5 * 60 + 1);
    await expect(startAddingPasskey(f.deps, f.rp, await signedInAs(f, signedIn.established), { automatic: true })).rejects.toMatchObject({ code: 'automatic_upgrade_expired' });

    const again = await signInTotp(f, user);
    f.t.clock.advance(4 * 60);
    const started = await startAddingPasskey(f.deps, f.rp, await signedInAs(f, again.established), { automatic: true });
    f.t.clock.advance(2 * 60);
    const late = await signedInAs(f, again.established);
    await expect(addPasskeyWithSession(f.deps, f.rp, late, { ceremonyId: started.ceremonyId, response: new SoftAuthenticator().register(started.options), label: null })).rejects.toMatchObject({
      code: expect.stringMatching(/^(automatic_upgrade_expired|step_up_required)$/),
    });
    expect((await factorsOf(f, user.user.id)).filter((factor) => factor.kind === 'passkey')).toHaveLength(0);
  });

  it('a password manager may create it without user presence (UP clear) — only an automatic ceremony accepts that', async () => {
    const user = await signUpTotpUser(f);
    const signedIn = await signInTotp(f, user);
    const requester = await signedInAs(f, signedIn.established);
    const manual = await startAddingPasskey(f.deps, f.rp, requester);
    await expect(
      addPasskeyWithSession(f.deps, f.rp, requester, { ceremonyId: manual.ceremonyId, response: new SoftAuthenticator().register(manual.options, { up: false }), label: null }),
    ).rejects.toMatchObject({ code: 'passkey_verification_failed' });
    const automatic = await startAddingPasskey(f.deps, f.rp, requester, { automatic: true });
    const added = await addPasskeyWithSession(f.deps, f.rp, requester, { ceremonyId: automatic.ceremonyId, response: new SoftAuthenticator().register(automatic.options, { up: false }), label: null });
    expect(added.factor.status).toBe('active');
  });

  it('not after a backup-code sign-in (a recovery is no upgrade moment)', async () => {
    const user = await signUpTotpUser(f);
    const recovered = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[0]! });
    await expect(startAddingPasskey(f.deps, f.rp, await signedInAs(f, recovered.established), { automatic: true })).rejects.toMatchObject({ code: 'automatic_upgrade_expired' });
  });
});

describe('TOTP retirement', () => {
  it('the N-th passkey sign-in revokes the TOTP through revokeFactor: its sessions end, backup codes stay, the user is told', async () => {
    const user = await signUpTotpUser(f);
    await inGroup(user, { mode: 'encouraged', retireAfter: 2 });
    const key = new SoftAuthenticator();
    await addPasskey(f, await signedInAs(f, user.established), key, 'Laptop');
    const totp = await activeFactor(f, user.user.id, 'totp');
    const totpSession = await signInTotp(f, user);
    const passkeyUser = { username: user.username, user: user.user, established: user.established, authenticator: key };

    await passkeySignIn(f, passkeyUser);
    expect((await activeFactor(f, user.user.id, 'totp')).id).toBe(totp.id);
    const second = await passkeySignIn(f, passkeyUser);

    const revoked = (await factorsOf(f, user.user.id)).find((factor) => factor.id === totp.id)!;
    expect(revoked).toMatchObject({ status: 'revoked', revoked_by: null, revoked_reason: 'retired_after_passkey_sign_ins' });
    expect((await auditRows(f, 'factor.revoke', user.user.id)).at(-1)).toMatchObject({ outcome: 'success', factor_id: totp.id });
    // The sessions the TOTP made end (the revocation rules); the passkey's own session stands.
    await expectNoSession(f, totpSession.established.token);
    expect(await findSession(f, second.established.token)).not.toBeNull();
    expect((await activeFactor(f, user.user.id, 'backup_codes')).status).toBe('active');
    const told = await notifications(f, user.user.id, 'totp_retired');
    expect(told).toHaveLength(1);
    expect(told[0]!.payload).toMatchObject({ factorId: totp.id, passkeySignIns: 2 });
    expect(await notifications(f, user.user.id, 'factor_removed')).toHaveLength(0);
    // Counted, and a third sign-in retires nothing more.
    await passkeySignIn(f, passkeyUser);
    expect((await f.t.db.selectFrom('user_rollout').selectAll().where('user_id', '=', user.user.id).executeTakeFirstOrThrow()).passkey_sign_ins).toBe(3);
    expect(await notifications(f, user.user.id, 'totp_retired')).toHaveLength(1);
  });

  it('without a threshold in any group, TOTP stays', async () => {
    const user = await signUpTotpUser(f);
    const key = new SoftAuthenticator();
    await addPasskey(f, await signedInAs(f, user.established), key);
    const passkeyUser = { username: user.username, user: user.user, established: user.established, authenticator: key };
    for (let i = 0; i < 3; i++) await passkeySignIn(f, passkeyUser);
    expect((await activeFactor(f, user.user.id, 'totp')).status).toBe('active');
  });
});
