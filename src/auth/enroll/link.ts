import type { RegistrationResponseJSON } from '@simplewebauthn/server';
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
