import {
  approveRecovery,
  cancelRecovery,
  openRecovery,
  presentRecovery,
  revealRecoveryLink,
} from '../../recovery/recovery.ts';
import { LatchError } from '../../errors.ts';
import { assertIdShape, type AuthDeps, type Requester } from '../requester.ts';
import { asAdmin } from './admin-requester.ts';

/**
 * The admin side of account recovery (rules in src/recovery/recovery.ts). Every step is
 * admin.write through asAdmin: an administrator with a fresh passkey proof, the change and its
 * audit rows in one transaction.
 */

export async function openRecoveryAsAdmin(deps: AuthDeps, requester: Requester, input: { userId: string; reason: string }) {
  assertIdShape(input.userId, 'user_not_found');
  return presentRecovery(await asAdmin(deps, requester, 'admin.write', (trx, actor) => openRecovery(trx, requester, actor, input)));
}

export async function approveRecoveryAsAdmin(deps: AuthDeps, requester: Requester, input: { requestId: string }) {
  assertIdShape(input.requestId, 'recovery_not_found');
  const result = await asAdmin(deps, requester, 'admin.write', (trx, actor) => approveRecovery(trx, requester, actor, input, deps.config));
  // Refused after the transaction committed, so the denied attempt stays in the audit log.
  if (result.outcome === 'refused_same_admin') throw new LatchError('recovery_same_admin');
  return presentRecovery(result.request);
}

export async function cancelRecoveryAsAdmin(deps: AuthDeps, requester: Requester, input: { requestId: string }) {
  assertIdShape(input.requestId, 'recovery_not_found');
  return presentRecovery(
    await asAdmin(deps, requester, 'admin.write', async (trx, actor) => {
      const request = await trx.selectFrom('recovery_requests').selectAll().where('id', '=', input.requestId).forUpdate().executeTakeFirst();
      if (!request) throw new LatchError('recovery_not_found');
      return cancelRecovery(trx, requester, request, { actorUserId: actor.userId, sessionId: actor.sessionId, reason: 'by_admin' });
    }),
  );
}

/** The link, once, to the approving admin of a user without a confirmed address, after the wait. */
export async function revealRecoveryLinkAsAdmin(deps: AuthDeps, requester: Requester, input: { requestId: string }) {
  assertIdShape(input.requestId, 'recovery_not_found');
  const { url, expiresAt } = await asAdmin(deps, requester, 'admin.write', (trx, actor) => revealRecoveryLink(trx, requester, actor, input, deps));
  return { url, expiresAt: expiresAt.toISOString() };
}

/** With the usernames of the user and of both admins, so the admin pages can say who is who. */
export async function listRecoveriesAsAdmin(deps: AuthDeps, requester: Requester, input: { userId: string | null; open: boolean }) {
  if (input.userId) assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.read', async (trx) => {
    let query = trx.selectFrom('recovery_requests').selectAll().orderBy('created_at', 'desc').limit(200);
    if (input.userId) query = query.where('user_id', '=', input.userId);
    if (input.open) query = query.where('status', 'in', ['requested', 'waiting', 'ready']);
    const requests = await query.execute();
    const ids = [...new Set(requests.flatMap((request) => [request.user_id, request.opened_by, request.approved_by]).filter((id): id is string => id !== null))];
    const names = new Map(ids.length === 0 ? [] : (await trx.selectFrom('users').select(['id', 'username']).where('id', 'in', ids).execute()).map((user) => [user.id, user.username] as const));
    const nameOf = (id: string | null) => (id === null ? null : (names.get(id) ?? null));
    return requests.map((request) => ({ ...presentRecovery(request), username: nameOf(request.user_id) ?? '', openedByUsername: nameOf(request.opened_by), approvedByUsername: nameOf(request.approved_by) }));
  });
}
