import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, createCeremony, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { ceremonyData } from '../../ceremonies/data.ts';
import { insertBackupCodeSet } from '../../factors/backup-codes.ts';
import { assertAcceptablePassword, hashPassword, storePasswordHash } from '../../factors/password.ts';
import { defaultTotpParameters, insertTotpFactor, matchPendingTotpCode, newPendingTotpSecret } from '../../factors/totp.ts';
import { ENROLLMENT_MAX_ATTEMPTS, ENROLLMENT_TTL_SECONDS } from '../sign-up/totp.ts';
import { presentEnrollment, type TotpEnrollment } from './totp-enrollment.ts';
import { setAdminRole } from '../../admin/users.ts';
import type { EnrollmentLinkPurpose, User } from '../../db/schema.ts';
import { consumeEnrollmentLink, findUsableEnrollmentLink } from '../../enrollment/links.ts';
import { LatchError } from '../../errors.ts';
import { completeRecovery } from '../../recovery/recovery.ts';
import { findUserById } from '../../users/users.ts';
import { finishPasskeyEnrollment, startPasskeyEnrollment } from '../../webauthn/registration.ts';
import type { RelyingParty } from '../../webauthn/relying-party.ts';
import { completeSignIn } from '../complete-sign-in.ts';
import { runPasskeyCeremony } from '../passkey-ceremony.ts';
import type { AuthDeps, EstablishedSession, Requester } from '../requester.ts';

/**
 * Registering a passkey through a single-use enrollment link (`latch create-admin`, an import):
 * the link names the user; whoever holds it registers a passkey for that account, the link is
 * used up in the same transaction, an `admin` link makes the user an administrator, and the new
 * passkey signs them in through completeSignIn. A failed registration leaves the link usable.
 */

async function usableLink(deps: AuthDeps, token: string, now: Date) {
  const link = await findUsableEnrollmentLink(deps.db, deps.keyring, token, now);
  const user = link ? await findUserById(deps.db, link.user_id) : null;
  // Unknown, used, expired, or for a disabled account: one answer, the token is a bearer secret.
  if (!link || !user || user.status !== 'active') throw new LatchError('enrollment_link_invalid');
  return { link, user };
}

/** Step one: creation options for the link's user (their passkeys excluded). */
export async function startEnrollmentWithLink(deps: AuthDeps, rp: RelyingParty, requester: Requester, input: { token: string }) {
  const { link, user } = await usableLink(deps, input.token, requester.now);
  const started = await startPasskeyEnrollment(deps.db, deps.keyring, rp, { user, sessionId: null, enrollmentLinkId: link.id }, requester.now);
  return { ...started, purpose: link.purpose, user: { username: user.username, displayName: user.display_name } };
}

/** Step two: the passkey, the link used, the role for an admin link, and a new session. */
export async function finishEnrollmentWithLink(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { token: string; ceremonyId: string; response: RegistrationResponseJSON; label: string | null },
): Promise<{ user: User; purpose: EnrollmentLinkPurpose; established: EstablishedSession }> {
  const { link } = await usableLink(deps, input.token, requester.now);
  return runPasskeyCeremony(deps, requester, 'enrollment_link.passkey', async (trx) => {
    const outcome = await finishPasskeyEnrollment(
      trx,
      deps.keyring,
      rp,
      { ceremonyId: input.ceremonyId, response: input.response, label: input.label, userId: link.user_id, sessionId: null, enrollmentLinkId: link.id },
      requester.now,
    );
    if (!outcome.ok) return outcome;
    // Only now, after the passkey verified: of two concurrent uses exactly one gets the link; the other rolls back.
    const used = await consumeEnrollmentLink(trx, deps.keyring, input.token, requester.now);
    if (!used || used.id !== link.id) throw new LatchError('enrollment_link_invalid');
    // A recovery link: every old factor and session ends now, before the new session is made.
    if (link.purpose === 'recovery') await completeRecovery(trx, requester, { link: used, newFactorId: outcome.value.factor.id });
    let user = await trx.selectFrom('users').selectAll().where('id', '=', link.user_id).forUpdate().executeTakeFirstOrThrow();
    if (user.status !== 'active') throw new LatchError('enrollment_link_invalid');
    if (link.purpose === 'admin') {
      const actor = { userId: link.created_by, sessionId: null, via: link.created_by ? ('api' as const) : ('cli' as const) };
      const promoted = await setAdminRole(trx, requester, actor, { userId: user.id, isAdmin: true, reason: 'enrollment_link' });
      if (promoted.outcome !== 'refused_last_admin') user = promoted.user;
    }
    const { factor } = outcome.value;
    const established = await completeSignIn(trx, deps, requester, { user, proof: { method: 'passkey', passkeyFactorId: factor.id, userVerified: factor.user_verified === true } });
    return {
      ok: true,
      value: {
        result: { user, purpose: link.purpose, established },
        userId: user.id,
        factorId: factor.id,
        sessionId: established.session.id,
        details: { linkId: link.id, purpose: link.purpose, userVerified: factor.user_verified === true, aaguid: factor.aaguid },
      },
    };
  });
}

/**
 * Without WebAuthn, step one: on a recovery link, a new password (checked, hashed) and a new
 * authenticator secret, pending its first code (a `link_fallback` ceremony). On an import link (a user imported without a second factor) the password is
 * optional when the account already has one: the imported password stays, and the app joins it.
 * An admin link enrolls a passkey only: administration needs one.
 */
export async function startFallbackWithLink(deps: AuthDeps, requester: Requester, input: { token: string; password?: string | undefined }): Promise<TotpEnrollment> {
  const { link, user } = await usableLink(deps, input.token, requester.now);
  if (link.purpose !== 'recovery' && link.purpose !== 'import') throw new LatchError('enrollment_link_invalid');
  let passwordHash: string | null = null;
  if (input.password !== undefined) {
    assertAcceptablePassword(input.password, user.username);
    passwordHash = await hashPassword(input.password);
  } else if (link.purpose === 'recovery' || !(await activePasswordFactor(deps.db, user.id))) {
    // A recovery replaces every way in, and an account without a password needs one to sign in with.
    throw new LatchError('validation_failed', 'Choose a password: this account needs one to sign in with.');
  }
  const { secret, pending } = newPendingTotpSecret(deps.keyring);
  const ceremonyId = await createCeremony(
    deps.db,
    deps.keyring,
    {
      kind: 'link_fallback',
      userId: user.id,
      data: { ...pending, linkId: link.id, passwordHash },
      ttlSeconds: ENROLLMENT_TTL_SECONDS,
      maxAttempts: ENROLLMENT_MAX_ATTEMPTS,
    },
    requester.now,
  );
  return presentEnrollment(deps.config, ceremonyId, user.username, secret);
}

async function activePasswordFactor(db: AuthDeps['db'], userId: string) {
  return db.selectFrom('factors').select('id').where('user_id', '=', userId).where('kind', '=', 'password').where('status', '=', 'active').executeTakeFirst();
}

/**
 * Step two: the first code proves the app. In one transaction: the link used up, on a recovery
 * link the recovery completed (every old factor revoked, every session ended), then the password
 * (new, or the imported one kept), the authenticator and fresh backup codes, and a new session.
 * The codes are shown once.
 */
export async function finishFallbackWithLink(
  deps: AuthDeps,
  requester: Requester,
  input: { token: string; ceremonyId: string; code: string },
): Promise<{ user: User; established: EstablishedSession; backupCodes: string[] }> {
  const { link } = await usableLink(deps, input.token, requester.now);
  const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, input.ceremonyId, 'link_fallback', requester.now);
  const pending = ceremony ? ceremonyData(ceremony, 'link_fallback') : null;
  if (!ceremony || !pending || pending.linkId !== link.id || ceremony.user_id !== link.user_id) throw new LatchError('ceremony_invalid');
  const { secret, step } = await matchPendingTotpCode(deps.keyring, pending, input.code, requester.now);
  if (step === null) throw new LatchError('code_invalid', undefined, { attemptsLeft: ceremony.max_attempts - ceremony.attempts });

  return deps.db.transaction().execute(async (trx) => {
    if (!(await consumeCeremony(trx, deps.keyring, input.ceremonyId, 'link_fallback', requester.now))) throw new LatchError('ceremony_invalid');
    const used = await consumeEnrollmentLink(trx, deps.keyring, input.token, requester.now);
    if (!used || used.id !== link.id || (used.purpose !== 'recovery' && used.purpose !== 'import')) throw new LatchError('enrollment_link_invalid');
    // A recovery: the old factors go first (all of them: the new ones do not exist yet), then the new ones are added.
    if (used.purpose === 'recovery') await completeRecovery(trx, requester, { link: used, newFactorId: null });
    const user = await trx.selectFrom('users').selectAll().where('id', '=', link.user_id).forUpdate().executeTakeFirstOrThrow();
    if (user.status !== 'active') throw new LatchError('enrollment_link_invalid');
    const kept = pending.passwordHash === null ? await activePasswordFactor(trx, user.id) : null;
    if (pending.passwordHash === null && !kept) throw new LatchError('ceremony_invalid');
    const password = kept ?? (await storePasswordHash(trx, user.id, pending.passwordHash!, requester.now)).factor;
    const totp = await insertTotpFactor(trx, deps.keyring, user.id, { secret, parameters: defaultTotpParameters, acceptedStep: step, label: null, boundSessionId: null }, requester.now);
    const backup = await insertBackupCodeSet(trx, deps.keyring, user.id, requester.now);
    await recordAudit(trx, requester, {
      action: 'enrollment_link.fallback',
      outcome: 'success',
      actorUserId: user.id,
      subjectUserId: user.id,
      details: { linkId: link.id, purpose: link.purpose, factorIds: [password.id, totp.id, backup.factor.id] },
    });
    const established = await completeSignIn(trx, deps, requester, { user, proof: { method: 'password_totp', passwordFactorId: password.id, totpFactorId: totp.id } });
    return { user, established, backupCodes: backup.codes };
  });
}
