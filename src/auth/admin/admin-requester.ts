import type { Transaction } from 'kysely';
import type { AdminActor } from '../../admin/actor.ts';
import { recordAudit } from '../../audit/audit.ts';
import type { Database } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { signedIn, type AuthDeps, type Requester } from '../requester.ts';

export type AdminAction = 'admin.read' | 'admin.write';

/**
 * Runs an admin flow: in one transaction, the policy engine decides first (an administrator, a
 * phishing-resistant session, a passkey proof fresh enough for the action), then the work, whose
 * audit rows commit with the change. A non-admin's attempt is refused and recorded as denied.
 */
export async function asAdmin<T>(
  deps: AuthDeps,
  requester: Requester,
  action: AdminAction,
  work: (trx: Transaction<Database>, actor: AdminActor) => Promise<T>,
): Promise<T> {
  const current = signedIn(requester);
  const actor: AdminActor = { userId: current.user.id, sessionId: current.session.id, via: 'api' };
  try {
    return await deps.db.transaction().execute(async (trx) => {
      await requireAllowed(trx, action, current, requester.now);
      return work(trx, actor);
    });
  } catch (error) {
    if (error instanceof LatchError && error.code === 'forbidden' && error.details.reason === 'not_admin') {
      await recordAudit(deps.db, requester, {
        action: 'admin.access',
        outcome: 'denied',
        actorUserId: current.user.id,
        subjectUserId: current.user.id,
        sessionId: current.session.id,
        details: { reason: 'not_admin', requested: action },
      });
    }
    throw error;
  }
}
