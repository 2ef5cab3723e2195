import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Transaction } from 'kysely';
import type { Database, Factor, Session } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { automaticUpgradeAllowed } from '../../policy/rollout.ts';
import { rotateSession } from '../../sessions/sessions.ts';
import { finishPasskeyEnrollment, startPasskeyEnrollment } from '../../webauthn/registration.ts';
import type { RelyingParty } from '../../webauthn/relying-party.ts';
import { runPasskeyCeremony } from '../passkey-ceremony.ts';
import { signedIn, type AuthDeps, type EstablishedSession, type Requester, type SignedIn } from '../requester.ts';

/**
 * Adding a passkey, step one (the step-up policy applies). `automatic`: the client asks with
 * `mediation: 'conditional'` right after a password + TOTP sign-in, so the password manager
 * creates the passkey without a prompt — accepted only inside the window the rollout policy sets
 * (src/policy/rollout.ts `automaticUpgradeAllowed`), checked again at the finish.
 */
export async function startAddingPasskey(deps: AuthDeps, rp: RelyingParty, requester: Requester, input: { automatic?: boolean } = {}) {
  const current = signedIn(requester);
  if (input.automatic) requireAutomaticUpgrade(current, requester.now);
  await requireAllowed(deps.db, 'factor.add', current, requester.now);
  return startPasskeyEnrollment(deps.db, deps.keyring, rp, { user: current.user, sessionId: current.session.id, automatic: input.automatic ?? false }, requester.now);
}

export interface AddedPasskey {
  factor: Factor;
  /**
   * A restricted session (the rollout's deadline passed) is lifted by its first passkey: its token
   * rotates (a privilege change), so the caller sets this as the new cookie. Null otherwise.
   */
  established: EstablishedSession | null;
}

/** Adding a passkey, step two: bound to this session, which cannot step itself up with it. */
export async function finishAddingPasskey(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { ceremonyId: string; response: RegistrationResponseJSON; label: string | null; authenticatorNames?: AuthenticatorNames },
): Promise<Factor> {
  return (await addPasskey(deps, rp, requester, input)).factor;
}

/** `finishAddingPasskey`, with the session a restricted one became. */
export async function addPasskey(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { ceremonyId: string; response: RegistrationResponseJSON; label: string | null; authenticatorNames?: AuthenticatorNames },
): Promise<AddedPasskey> {
  const current = signedIn(requester);
  const { session, user } = current;
  return runPasskeyCeremony(deps, requester, 'factor.add', async (trx) => {
    // Checked again here: the proof may have aged past the policy while the user held their key.
    await requireAllowed(trx, 'factor.add', current, requester.now);
    const outcome = await finishPasskeyEnrollment(trx, deps.keyring, rp, { ...input, userAgent: requester.userAgent, userId: user.id, sessionId: session.id }, requester.now, requester);
    if (!outcome.ok) return outcome;
    const { factor, automatic } = outcome.value;
    // The ceremony said automatic: the window is the rollout policy's, judged at the finish too.
    if (automatic) requireAutomaticUpgrade(current, requester.now);
    const established = await endRollout(trx, deps, session, requester.now);
    return {
      ok: true,
      value: {
        result: { factor, established },
        userId: user.id,
        factorId: factor.id,
        details: { kind: 'passkey', aaguid: factor.aaguid, userVerified: factor.user_verified, automatic, ...(established ? { liftedRestriction: true } : {}) },
      },
    };
  });
}

function requireAutomaticUpgrade(current: SignedIn, now: Date): void {
  if (!automaticUpgradeAllowed(current.session, now)) throw new LatchError('automatic_upgrade_expired');
}

/**
 * The user has a passkey now: the invitation is done, and a restricted session is lifted. The
 * lifted session keeps exactly the assurance of the fallback sign-in that made it (password +
 * TOTP or backup code: AAL2, not phishing-resistant): the new passkey is bound to this session,
 * so it cannot step it up (policy/enforce.ts), and what needs a passkey proof (admin actions)
 * still asks for a passkey sign-in. Only the restriction goes, with a new token.
 */
async function endRollout(trx: Transaction<Database>, deps: AuthDeps, session: Session, now: Date): Promise<EstablishedSession | null> {
  if (!session.restricted_reason && !session.passkey_invited_at) return null;
  await trx.updateTable('sessions').set({ restricted_reason: null, passkey_invited_at: null }).where('id', '=', session.id).execute();
  if (!session.restricted_reason) return null;
  const rotated = await rotateSession(trx, deps.keyring, session.id, now);
  if (!rotated) throw new LatchError('unauthenticated');
  return rotated;
}
