import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, createCeremony, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { ceremonyData, type CeremonyData } from '../../ceremonies/data.ts';
import type { User } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import { insertBackupCodeSet } from '../../factors/backup-codes.ts';
import { assertAcceptablePassword, hashPassword, storePasswordHash } from '../../factors/password.ts';
import { defaultTotpParameters, insertTotpFactor, matchPendingTotpCode, newPendingTotpSecret } from '../../factors/totp.ts';
import { createUser, findUserByUsername } from '../../users/users.ts';
import { completeSignIn } from '../complete-sign-in.ts';
import { presentEnrollment, type TotpEnrollment } from '../enroll/totp-enrollment.ts';
import type { AuthDeps, EstablishedSession, Requester } from '../requester.ts';

/** A pending enrollment lives ten minutes and allows a few mistyped codes. */
export const ENROLLMENT_TTL_SECONDS = 10 * 60;
export const ENROLLMENT_MAX_ATTEMPTS = 5;

/** Sign-up without a passkey, step one: the password is checked and hashed, a secret made for the app. */
export async function startTotpSignUp(
  deps: AuthDeps,
  requester: Requester,
  input: { username: string; password: string; displayName: string | null },
): Promise<TotpEnrollment> {
  assertAcceptablePassword(input.password, input.username);
  if (await findUserByUsername(deps.db, input.username)) throw new LatchError('username_taken');
  const { secret, pending: pendingSecret } = newPendingTotpSecret(deps.keyring);
  const pending: CeremonyData<'totp_signup'> = {
    ...pendingSecret,
    username: input.username,
    displayName: input.displayName || null,
    passwordHash: await hashPassword(input.password),
  };
  const ceremonyId = await createCeremony(
    deps.db,
    deps.keyring,
    { kind: 'totp_signup', data: { ...pending }, ttlSeconds: ENROLLMENT_TTL_SECONDS, maxAttempts: ENROLLMENT_MAX_ATTEMPTS },
    requester.now,
  );
  return presentEnrollment(deps.config, ceremonyId, input.username, secret);
}

/**
 * Sign-up step two: the first code proves the app holds the secret. Creates the account with its
 * password, authenticator and backup codes, and signs in; the codes are shown once.
 */
export async function finishTotpSignUp(
  deps: AuthDeps,
  requester: Requester,
  input: { ceremonyId: string; code: string },
): Promise<{ user: User; established: EstablishedSession; backupCodes: string[] }> {
  // Spending an attempt commits on its own, so wrong codes count even though nothing else is written.
  const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, input.ceremonyId, 'totp_signup', requester.now);
  const pending = ceremony ? ceremonyData(ceremony, 'totp_signup') : null;
  if (!ceremony || !pending) throw new LatchError('ceremony_invalid');
  const { secret, step } = await matchPendingTotpCode(deps.keyring, pending, input.code, requester.now);
  if (step === null) throw new LatchError('code_invalid', undefined, { attemptsLeft: ceremony.max_attempts - ceremony.attempts });

  return deps.db.transaction().execute(async (trx) => {
    if (!(await consumeCeremony(trx, deps.keyring, input.ceremonyId, 'totp_signup', requester.now))) throw new LatchError('ceremony_invalid');
    const user = await createUser(trx, { username: pending.username, displayName: pending.displayName }, requester.now);
    if (!user) throw new LatchError('username_taken');
    const { factor: password } = await storePasswordHash(trx, user.id, pending.passwordHash, requester.now);
    const totp = await insertTotpFactor(
      trx,
      deps.keyring,
      user.id,
      { secret, parameters: defaultTotpParameters, acceptedStep: step, label: null, boundSessionId: null },
      requester.now,
    );
    const backup = await insertBackupCodeSet(trx, deps.keyring, user.id, requester.now);
    await recordAudit(trx, requester, {
      action: 'user.signup',
      outcome: 'success',
      actorUserId: user.id,
      subjectUserId: user.id,
      details: { method: 'password_totp', factorIds: [password.id, totp.id, backup.factor.id] },
    });
    const established = await completeSignIn(trx, deps, requester, { user, proof: { method: 'password_totp', passwordFactorId: password.id, totpFactorId: totp.id } });
    return { user, established, backupCodes: backup.codes };
  });
}
