import { recordAudit } from '../../audit/audit.ts';
import { LatchError } from '../../errors.ts';
import { insertBackupCodeSet } from '../../factors/backup-codes.ts';
import { findActiveFactorOfKind } from '../../factors/factors.ts';
import { revokeFactor } from '../../factors/revocation.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

/**
 * A new set of backup codes, shown once. The old set ends through the one revocation path: its
 * unused codes stop working and the sessions an old code opened end (but the one asking).
 */
export async function regenerateBackupCodes(deps: AuthDeps, requester: Requester): Promise<{ codes: string[]; endedSessions: number }> {
  const current = signedIn(requester);
  const { session, user } = current;
  return deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'backup_codes.regenerate', current, requester.now);
    const old = await findActiveFactorOfKind(trx, user.id, 'backup_codes');
    let endedSessions = 0;
    if (old) {
      const revoked = await revokeFactor(trx, requester, {
        userId: user.id,
        factorId: old.id,
        actorUserId: user.id,
        actorSessionId: session.id,
        reason: 'regenerated',
        replacing: { keepSessionId: session.id },
      });
      if (revoked.outcome !== 'revoked') throw new LatchError('internal_error');
      endedSessions = revoked.endedSessionIds.length;
    }
    const { factor, codes } = await insertBackupCodeSet(trx, deps.keyring, user.id, requester.now);
    await recordAudit(trx, requester, {
      action: 'backup_codes.regenerate',
      outcome: 'success',
      ...byOwner(current),
      factorId: factor.id,
      details: { replacedFactorId: old?.id ?? null, endedSessions },
    });
    await queueNotification(trx, { userId: user.id, kind: 'backup_codes_regenerated', payload: { factorId: factor.id }, now: requester.now, from: requester });
    return { codes, endedSessions };
  });
}
