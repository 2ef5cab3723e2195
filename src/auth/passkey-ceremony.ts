import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.ts';
import { DeferredWrites } from '../audit/deferred-writes.ts';
import type { Database } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import type { CeremonyOutcome } from '../webauthn/outcome.ts';
import type { AuthDeps, Requester } from './requester.ts';

/** What a successful ceremony tells the audit log. */
export interface CeremonySuccess<T> {
  result: T;
  userId: string;
  factorId: string;
  sessionId?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Runs the second half of a passkey ceremony in one transaction and writes its audit row, success
 * or failure, in that same transaction. A refusal commits (the ceremony stays consumed, a cloned
 * passkey stays flagged) and is then thrown as the client's error. A thrown LatchError (a policy
 * refusal, a lost race) rolls the work back; its audit row is written on its own afterwards.
 */
export async function runPasskeyCeremony<T>(
  deps: AuthDeps,
  requester: Requester,
  action: string,
  /** `deferred`: writes the work need not read back; sent with the success audit row in one statement. */
  work: (trx: Transaction<Database>, deferred: DeferredWrites) => Promise<CeremonyOutcome<CeremonySuccess<T>>>,
): Promise<T> {
  const current = requester.current;
  let outcome: CeremonyOutcome<CeremonySuccess<T>>;
  try {
    outcome = await deps.db.transaction().execute(async (trx) => {
      const deferred = new DeferredWrites(requester);
      const result = await work(trx, deferred);
      if (result.ok) {
        const success = result.value;
        deferred.audit({
          action,
          outcome: 'success',
          actorUserId: success.userId,
          subjectUserId: success.userId,
          factorId: success.factorId,
          sessionId: success.sessionId ?? current?.session.id ?? null,
          details: success.details ?? {},
        });
        await deferred.flush(trx);
      } else {
        await deferred.flush(trx);
        await recordAudit(trx, requester, {
          action,
          outcome: 'failure',
          actorUserId: current?.user.id ?? null,
          subjectUserId: result.userId,
          factorId: result.factorId,
          sessionId: current?.session.id ?? null,
          details: { reason: result.reason, ...result.auditDetails },
        });
      }
      return result;
    });
  } catch (error) {
    if (error instanceof LatchError) {
      await recordAudit(deps.db, requester, {
        action,
        outcome: error.code === 'step_up_required' || error.code === 'forbidden' ? 'denied' : 'failure',
        actorUserId: current?.user.id ?? null,
        subjectUserId: current?.user.id ?? null,
        sessionId: current?.session.id ?? null,
        details: { reason: error.code },
      });
    }
    throw error;
  }
  if (!outcome.ok) throw new LatchError(outcome.code, undefined, outcome.details ?? {});
  return outcome.value.result;
}
