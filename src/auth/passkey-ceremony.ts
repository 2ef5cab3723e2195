import type { Kysely, Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.ts';
import { DeferredWrites, WriteGuardFailed } from '../audit/deferred-writes.ts';
import type { Db } from '../db/database.ts';
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

type Executor = Kysely<Database> | Transaction<Database>;

/** The ceremony's own work: reads, checks, and writes added to `deferred` (sent with the audit row). */
type CeremonyWork<E extends Executor, T> = (db: E, deferred: DeferredWrites) => Promise<CeremonyOutcome<CeremonySuccess<T>>>;

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
  work: CeremonyWork<Transaction<Database>, T>,
): Promise<T> {
  return runCeremony(deps, requester, action, () => deps.db.transaction().execute((trx) => settle(trx, requester, action, work)));
}

/**
 * The same without a transaction, for the passkey sign-in (the hot path: BEGIN and COMMIT were two
 * of its five round trips). Its reads are one statement that commits on its own (the ceremony is
 * consumed there, for good, as a refusal leaves it anyway); its writes are one statement, atomic
 * by itself, guarded (`DeferredWrites.require`) by the passkey row it read: revoked, flagged or
 * used by a parallel sign-in meanwhile, and none of them is written (`passkey_changed`, audited,
 * refused). A refusal's writes and its audit row are one statement too.
 */
export async function runPasskeyCeremonyWithoutTransaction<T>(deps: AuthDeps, requester: Requester, action: string, work: CeremonyWork<Db, T>): Promise<T> {
  return runCeremony(deps, requester, action, () => settle(deps.db, requester, action, work));
}

async function runCeremony<T>(deps: AuthDeps, requester: Requester, action: string, run: () => Promise<CeremonyOutcome<CeremonySuccess<T>>>): Promise<T> {
  const current = requester.current;
  let outcome: CeremonyOutcome<CeremonySuccess<T>>;
  try {
    outcome = await run();
  } catch (error) {
    const guard = error instanceof WriteGuardFailed ? error : null;
    if (error instanceof LatchError || guard) {
      await recordAudit(deps.db, requester, {
        action,
        outcome: error instanceof LatchError && (error.code === 'step_up_required' || error.code === 'forbidden') ? 'denied' : 'failure',
        actorUserId: current?.user.id ?? null,
        subjectUserId: current?.user.id ?? null,
        sessionId: current?.session.id ?? null,
        details: { reason: guard ? guard.reason : (error as LatchError).code },
      });
    }
    if (guard) throw new LatchError('passkey_verification_failed');
    throw error;
  }
  if (!outcome.ok) throw new LatchError(outcome.code, undefined, outcome.details ?? {});
  return outcome.value.result;
}

/** The work, then its audit row with its writes: one statement, success or refusal. */
async function settle<E extends Executor, T>(db: E, requester: Requester, action: string, work: CeremonyWork<E, T>): Promise<CeremonyOutcome<CeremonySuccess<T>>> {
  const current = requester.current;
  const deferred = new DeferredWrites(requester);
  const result = await work(db, deferred);
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
  } else if (result.audited !== false) {
    deferred.audit({
      action,
      outcome: 'failure',
      actorUserId: current?.user.id ?? null,
      subjectUserId: result.userId,
      factorId: result.factorId,
      sessionId: current?.session.id ?? null,
      details: { reason: result.reason, ...result.auditDetails },
    });
  }
  await deferred.flush(db);
  return result;
}
