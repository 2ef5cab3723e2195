import { userProfile, type UserProfile } from '../../admin/profile.ts';
import {
  disableUser,
  enableUser,
  endUserSession,
  grantExemption,
  liftExemption,
  requireUser,
  searchUsers,
  setAdminRole,
  type Exemption,
  type UserSearch,
} from '../../admin/users.ts';
import type { Factor, User } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { clearPasskeyFlag } from '../../factors/passkey-flag.ts';
import { revokeFactor } from '../../factors/revocation.ts';
import { assertIdShape, type AuthDeps, type Requester } from '../requester.ts';
import { asAdmin } from './admin-requester.ts';

/**
 * What an administrator does to users, as flows: (deps, requester, input). Each goes through
 * `asAdmin` (the policy engine, one transaction) and the domain functions in src/admin/, which
 * audit with the admin as actor and the user as subject.
 */

export async function findUsers(deps: AuthDeps, requester: Requester, search: UserSearch) {
  if (search.groupId) assertIdShape(search.groupId, 'group_not_found');
  return asAdmin(deps, requester, 'admin.read', (trx) => searchUsers(trx, search));
}

export async function viewUser(
  deps: AuthDeps,
  requester: Requester,
  input: { userId: string; auditBefore?: string | null; names?: AuthenticatorNames },
): Promise<UserProfile> {
  assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.read', async (trx) => {
    const user = await requireUser(trx, input.userId);
    return userProfile(trx, user, requester.now, { names: input.names, auditBefore: input.auditBefore ?? null });
  });
}

/** Disables the account and ends every one of its sessions at once. */
export async function disableUserAsAdmin(deps: AuthDeps, requester: Requester, input: { userId: string }): Promise<{ user: User; endedSessions: number }> {
  assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => disableUser(trx, requester, actor, input));
}

export async function enableUserAsAdmin(deps: AuthDeps, requester: Requester, input: { userId: string }): Promise<User> {
  assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => enableUser(trx, requester, actor, input));
}

/** Promotes or demotes; the last administrator stays (last_admin, the refusal audited). */
export async function setUserAdminRole(deps: AuthDeps, requester: Requester, input: { userId: string; isAdmin: boolean }): Promise<{ user: User; changed: boolean }> {
  assertIdShape(input.userId, 'user_not_found');
  const result = await asAdmin(deps, requester, 'admin.write', (trx, actor) => setAdminRole(trx, requester, actor, input));
  if (result.outcome === 'refused_last_admin') throw new LatchError('last_admin');
  return { user: result.user, changed: result.outcome === 'changed' };
}

/** Ends one session of any user. */
export async function endSessionAsAdmin(deps: AuthDeps, requester: Requester, input: { sessionId: string }): Promise<{ userId: string }> {
  assertIdShape(input.sessionId, 'session_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => endUserSession(trx, requester, actor, input));
}

/**
 * Revokes a user's factor through the one revocation function (its sessions end, remembered
 * browsers go with an authenticator app, the user is notified). An admin may remove a user's last
 * factor (the account then needs a new enrollment link); the last-factor rule protects owners
 * from themselves, so it still applies when the admin is that user.
 */
export async function revokeUserFactor(deps: AuthDeps, requester: Requester, input: { userId: string; factorId: string }): Promise<{ factor: Factor; endedSessions: number }> {
  assertIdShape(input.userId, 'user_not_found');
  assertIdShape(input.factorId, 'factor_not_found');
  const result = await asAdmin(deps, requester, 'admin.write', async (trx, actor) => {
    await requireUser(trx, input.userId);
    return revokeFactor(trx, requester, { userId: input.userId, factorId: input.factorId, actorUserId: actor.userId, actorSessionId: actor.sessionId, reason: 'revoked_by_admin' });
  });
  if (result.outcome === 'refused_last_factor') throw new LatchError('last_factor');
  return { factor: result.factor, endedSessions: result.endedSessionIds.length };
}

/** Clears the possible-clone flag of a user's passkey (the same domain code the owner's "This was me" uses). */
export async function clearUserPasskeyFlag(deps: AuthDeps, requester: Requester, input: { userId: string; factorId: string }): Promise<Factor> {
  assertIdShape(input.userId, 'user_not_found');
  assertIdShape(input.factorId, 'factor_not_found');
  const result = await asAdmin(deps, requester, 'admin.write', async (trx, actor) => {
    await requireUser(trx, input.userId);
    return clearPasskeyFlag(trx, requester, { userId: input.userId, factorId: input.factorId, actorUserId: actor.userId!, actorSessionId: actor.sessionId });
  });
  if (result.outcome === 'not_found') throw new LatchError('factor_not_found');
  return result.factor;
}

export async function grantUserExemption(deps: AuthDeps, requester: Requester, input: { userId: string; reason: string; expiresAt: Date | null }): Promise<Exemption> {
  assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => grantExemption(trx, requester, actor, input));
}

export async function liftUserExemption(deps: AuthDeps, requester: Requester, input: { userId: string }): Promise<{ lifted: boolean }> {
  assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => liftExemption(trx, requester, actor, input));
}
