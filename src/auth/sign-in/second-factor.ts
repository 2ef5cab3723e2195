import type { Transaction } from 'kysely';
import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, refundCeremonyAttempt, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { ceremonyData, type CeremonyData } from '../../ceremonies/data.ts';
import { unseal } from '../../crypto/keyring.ts';
import type { Database, User } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import { redeemBackupCode } from '../../factors/backup-codes.ts';
import { findActivePassword, hashPassword, storePasswordHash } from '../../factors/password.ts';
import { rememberDevice } from '../../factors/remembered-devices.ts';
import { revokeRememberedDevices } from '../../factors/revocation.ts';
import { findActiveTotp, useTotpCode } from '../../factors/totp.ts';
import { claimSecondFactorAttempt, resetSecondFactorAttempts, type ClaimedAttempt, type LockoutSubject, type SecondFactorMethod, wrongCodeDetails } from '../../lockout/second-factor.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import type { SignInProof } from '../../policy/assurance.ts';
import { findUserById } from '../../users/users.ts';
import { completeSignIn } from '../complete-sign-in.ts';
import type { AuthDeps, EstablishedSession, Requester } from '../requester.ts';
import { passwordHashTag, rehashContext } from './password.ts';

export interface SecondFactorSignIn<R> {
  user: User;
  established: EstablishedSession;
  result: R;
}

/** A remembered browser's token, to set as its cookie. Shown once. */
export interface RememberedDeviceToken {
  token: string;
}

/** Second step with a code from the authenticator app; optionally remembers this browser. */
export async function signInWithTotpCode(
  deps: AuthDeps,
  requester: Requester,
  input: { ticket: string; code: string; rememberDevice: boolean },
): Promise<SecondFactorSignIn<{ rememberedDevice: RememberedDeviceToken | null }>> {
  return finishSecondFactor(deps, requester, input.ticket, 'totp', async (trx, user, passwordFactorId) => {
    const totp = await findActiveTotp(trx, user.id);
    if (!totp || !(await useTotpCode(trx, deps.keyring, totp, input.code, requester.now))) return null;
    let rememberedDevice: RememberedDeviceToken | null = null;
    if (input.rememberDevice) {
      const { device, token } = await rememberDevice(trx, deps.keyring, user.id, requester.userAgent, requester.now);
      await recordAudit(trx, requester, { action: 'remembered_device.add', outcome: 'success', actorUserId: user.id, subjectUserId: user.id, details: { deviceId: device.id } });
      rememberedDevice = { token };
    }
    return { proof: { method: 'password_totp', passwordFactorId, totpFactorId: totp.id }, factorId: totp.id, result: { rememberedDevice } };
  });
}

/**
 * Second step with a backup code: a recovery. The phone may be in someone else's hands, so every
 * remembered browser is forgotten and the sessions they signed in end.
 */
export async function signInWithBackupCode(
  deps: AuthDeps,
  requester: Requester,
  input: { ticket: string; code: string },
): Promise<SecondFactorSignIn<{ remaining: number }>> {
  return finishSecondFactor(deps, requester, input.ticket, 'backup_code', async (trx, user, passwordFactorId) => {
    const redeemed = await redeemBackupCode(trx, deps.keyring, user.id, input.code, requester.now);
    if (!redeemed) return null;
    const forgotten = await revokeRememberedDevices(trx, requester, { userId: user.id, deviceId: null });
    await recordAudit(trx, requester, {
      action: 'backup_code.use',
      outcome: 'success',
      actorUserId: user.id,
      subjectUserId: user.id,
      factorId: redeemed.factorId,
      details: { remaining: redeemed.remaining, forgottenDevices: forgotten.deviceIds.length, endedSessions: forgotten.endedSessionIds.length },
    });
    await queueNotification(trx, { userId: user.id, kind: 'backup_code_used', payload: { remaining: redeemed.remaining }, now: requester.now, from: requester });
    return { proof: { method: 'password_backup_code', passwordFactorId, backupCodesFactorId: redeemed.factorId }, factorId: redeemed.factorId, result: { remaining: redeemed.remaining } };
  });
}

type SecondFactorCheck<R> = (
  trx: Transaction<Database>,
  user: User,
  passwordFactorId: string,
) => Promise<{ proof: SignInProof; factorId: string; result: R } | null>;

/**
 * The second step, whatever the factor: spend a ticket attempt and claim a lockout attempt (each
 * commits on its own, before the code is looked at), then check the code in one transaction with
 * the ticket's consumption, the counters' reset, the legacy re-hash, the audit row and the
 * session. A failure is audited outside that transaction; its attempt was counted already.
 */
async function finishSecondFactor<R>(
  deps: AuthDeps,
  requester: Requester,
  ticket: string,
  method: SecondFactorMethod,
  check: SecondFactorCheck<R>,
): Promise<SecondFactorSignIn<R>> {
  const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, ticket, 'signin_ticket', requester.now);
  const data = ceremony ? ceremonyData(ceremony, 'signin_ticket') : null;
  if (!ceremony || !data) throw new LatchError('ticket_invalid');
  const subject: LockoutSubject = { subject: data.subject, userId: data.subjectUserId };
  let claimed: ClaimedAttempt;
  try {
    claimed = await claimSecondFactorAttempt(deps.db, requester, { subject, method });
  } catch (error) {
    // Refused before any code was looked at: the lock is what the user waits out, not the ticket.
    if (error instanceof LatchError && error.code === 'locked_out') await refundCeremonyAttempt(deps.db, deps.keyring, ticket, 'signin_ticket', requester.now);
    if (ceremony.user_id) {
      await recordAudit(deps.db, requester, { action: 'signin.second_factor', outcome: 'denied', subjectUserId: ceremony.user_id, details: { method, reason: 'locked_out' } });
    }
    throw error;
  }

  const user = data.passwordOk && ceremony.user_id ? await findUserById(deps.db, ceremony.user_id) : null;
  const succeeded =
    user?.status === 'active' && data.passwordFactorId ? await checkAndSignIn(deps, requester, { ticket, data, subject, method, user, check }) : null;
  if (succeeded) return succeeded;

  if (ceremony.user_id) {
    await recordAudit(deps.db, requester, { action: 'signin.second_factor', outcome: 'failure', subjectUserId: ceremony.user_id, details: { method } });
  }
  throw new LatchError('code_invalid', undefined, wrongCodeDetails(claimed, Math.max(0, ceremony.max_attempts - ceremony.attempts)));
}

async function checkAndSignIn<R>(
  deps: AuthDeps,
  requester: Requester,
  input: { ticket: string; data: CeremonyData<'signin_ticket'>; subject: LockoutSubject; method: SecondFactorMethod; user: User; check: SecondFactorCheck<R> },
): Promise<SecondFactorSignIn<R> | null> {
  const { data, user } = input;
  return deps.db.transaction().execute(async (trx) => {
    // The password proven in the first step must still be the user's password.
    const password = await findActivePassword(trx, user.id);
    if (password?.id !== data.passwordFactorId || passwordHashTag(deps.keyring, password.password_hash!) !== data.passwordHashTag) return null;
    const outcome = await input.check(trx, user, password.id);
    if (!outcome) return null;
    if (!(await consumeCeremony(trx, deps.keyring, input.ticket, 'signin_ticket', requester.now))) throw new LatchError('ticket_invalid');
    await resetSecondFactorAttempts(trx, { subject: input.subject, method: input.method, clientAddress: requester.clientAddress });
    // Only now, after the code: a re-hash before it would make right passwords answer slower.
    let rehashed = false;
    if (data.rehash) {
      const plain = unseal(deps.keyring, data.rehash, rehashContext(user.id)).toString('utf8');
      await storePasswordHash(trx, user.id, await hashPassword(plain), requester.now);
      rehashed = true;
    }
    await recordAudit(trx, requester, {
      action: 'signin.second_factor',
      outcome: 'success',
      actorUserId: user.id,
      subjectUserId: user.id,
      factorId: outcome.factorId,
      details: { method: input.method, rehashedPassword: rehashed },
    });
    const established = await completeSignIn(trx, deps, requester, { user, proof: outcome.proof });
    return { user, established, result: outcome.result };
  });
}
