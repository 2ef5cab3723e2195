import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, createCeremony, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { ceremonyData, type CeremonyData } from '../../ceremonies/data.ts';
import type { Factor } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import { insertBackupCodeSet } from '../../factors/backup-codes.ts';
import { findActiveFactorOfKind } from '../../factors/factors.ts';
import { defaultTotpParameters, findActiveTotp, insertTotpFactor, matchPendingTotpCode, newPendingTotpSecret } from '../../factors/totp.ts';
import { revokeFactor } from '../../factors/revocation.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';
import { ENROLLMENT_MAX_ATTEMPTS, ENROLLMENT_TTL_SECONDS } from '../sign-up/totp.ts';
import { presentEnrollment, type TotpEnrollment } from './totp-enrollment.ts';

/**
 * Adding an authenticator app, step one (the step-up policy applies). With `replace`, the app on
 * a new phone: the current one keeps working until the new one's code is confirmed (step two),
 * which then ends the old one through revokeFactor in the same transaction.
 */
export async function startAddingTotp(deps: AuthDeps, requester: Requester, options: { replace?: boolean } = {}): Promise<TotpEnrollment> {
  const current = signedIn(requester);
  const { session, user } = current;
  await requireAllowed(deps.db, 'factor.add', current, requester.now);
  const existing = await findActiveTotp(deps.db, user.id);
  if (options.replace) {
    await requireAllowed(deps.db, 'factor.remove', current, requester.now);
    if (!existing) throw new LatchError('totp_not_enrolled');
  } else if (existing) {
    throw new LatchError('totp_already_enrolled');
  }
  const { secret, pending: pendingSecret } = newPendingTotpSecret(deps.keyring);
  const pending: CeremonyData<'totp_setup'> = {
    ...pendingSecret,
    ...(options.replace && existing ? { replacesFactorId: existing.id } : {}),
  };
  const ceremonyId = await createCeremony(
    deps.db,
    deps.keyring,
    { kind: 'totp_setup', userId: user.id, sessionId: session.id, data: { ...pending }, ttlSeconds: ENROLLMENT_TTL_SECONDS, maxAttempts: ENROLLMENT_MAX_ATTEMPTS },
    requester.now,
  );
  return presentEnrollment(deps.config, ceremonyId, user.username, secret);
}

/**
 * Adding an authenticator app, step two: a code proves the app holds the secret; the app becomes
 * active (bound to this session, which cannot step itself up with it), and backup codes are
 * created when there are none. A wrong code is audited and uses up an attempt.
 */
export async function finishAddingTotp(
  deps: AuthDeps,
  requester: Requester,
  input: { ceremonyId: string; code: string; label: string | null },
): Promise<{ factor: Factor; backupCodes: string[] | null }> {
  const current = signedIn(requester);
  const { session, user } = current;
  const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, input.ceremonyId, 'totp_setup', requester.now);
  const pending = ceremony ? ceremonyData(ceremony, 'totp_setup') : null;
  // Bound to the session that started it: another session (or user) cannot finish it.
  if (!ceremony || !pending || ceremony.user_id !== user.id || ceremony.session_id !== session.id) throw new LatchError('ceremony_invalid');
  const { secret, step } = await matchPendingTotpCode(deps.keyring, pending, input.code, requester.now);
  if (step === null) {
    await recordAudit(deps.db, requester, { action: 'factor.add', outcome: 'failure', ...byOwner(current), details: { kind: 'totp', reason: 'code_invalid' } });
    throw new LatchError('code_invalid', undefined, { attemptsLeft: ceremony.max_attempts - ceremony.attempts });
  }

  return deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'factor.add', current, requester.now);
    if (!(await consumeCeremony(trx, deps.keyring, input.ceremonyId, 'totp_setup', requester.now))) throw new LatchError('ceremony_invalid');
    const existing = await findActiveTotp(trx, user.id);
    if (pending.replacesFactorId) {
      // The new key is confirmed (above): the old app ends now, with its audit row, in this transaction.
      await requireAllowed(trx, 'factor.remove', current, requester.now);
      if (!existing || existing.id !== pending.replacesFactorId) throw new LatchError('ceremony_invalid');
      await revokeFactor(trx, requester, {
        userId: user.id,
        factorId: existing.id,
        actorUserId: user.id,
        actorSessionId: session.id,
        reason: 'replaced',
        replacing: { keepSessionId: session.id },
      });
    } else if (existing) {
      throw new LatchError('totp_already_enrolled');
    }
    const factor = await insertTotpFactor(
      trx,
      deps.keyring,
      user.id,
      { secret, parameters: defaultTotpParameters, acceptedStep: step, label: input.label, boundSessionId: session.id },
      requester.now,
    );
    const hasBackupCodes = (await findActiveFactorOfKind(trx, user.id, 'backup_codes')) !== null;
    const backup = hasBackupCodes ? null : await insertBackupCodeSet(trx, deps.keyring, user.id, requester.now);
    await recordAudit(trx, requester, {
      action: 'factor.add',
      outcome: 'success',
      ...byOwner(current),
      factorId: factor.id,
      details: { kind: 'totp', backupCodesCreated: backup !== null, ...(pending.replacesFactorId ? { replaces: pending.replacesFactorId } : {}) },
    });
    await queueNotification(trx, { userId: user.id, kind: 'factor_added', payload: { factorId: factor.id, kind: 'totp' }, now: requester.now, from: requester });
    return { factor, backupCodes: backup?.codes ?? null };
  });
}
