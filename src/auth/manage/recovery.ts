import { LatchError } from '../../errors.ts';
import { cancelRecovery, findOpenRecovery, presentOwnRecovery } from '../../recovery/recovery.ts';
import { signedIn, type AuthDeps, type Requester } from '../requester.ts';

/**
 * The user's side of a recovery while they can still sign in: see it, cancel it. (Signing in
 * already cancels it, so in practice a signed-in user only ever sees one cancelled by that.)
 */
export async function showOwnRecovery(deps: AuthDeps, requester: Requester) {
  const { user } = signedIn(requester);
  const request = await findOpenRecovery(deps.db, user.id);
  return { recovery: request ? presentOwnRecovery(request) : null };
}

export async function cancelOwnRecovery(deps: AuthDeps, requester: Requester) {
  const { user, session } = signedIn(requester);
  return deps.db.transaction().execute(async (trx) => {
    const request = await trx.selectFrom('recovery_requests').selectAll().where('user_id', '=', user.id).where('status', 'in', ['requested', 'waiting', 'ready']).forUpdate().executeTakeFirst();
    if (!request) throw new LatchError('recovery_not_found');
    const cancelled = await cancelRecovery(trx, requester, request, { actorUserId: user.id, sessionId: session.id, reason: 'by_user' });
    return { recovery: presentOwnRecovery(cancelled) };
  });
}
