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

export async function listRecoveriesAsAdmin(deps: AuthDeps, requester: Requester, input: { userId: string | null; open: boolean }) {
  if (input.userId) assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.read', async (trx) => {
    let query = trx.selectFrom('recovery_requests').selectAll().orderBy('created_at', 'desc').limit(200);
    if (input.userId) query = query.where('user_id', '=', input.userId);
    if (input.open) query = query.where('status', 'in', ['requested', 'waiting', 'ready']);
    return (await query.execute()).map(presentRecovery);
  });
}
