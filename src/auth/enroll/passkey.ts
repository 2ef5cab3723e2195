import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Factor } from '../../db/schema.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { finishPasskeyEnrollment, startPasskeyEnrollment } from '../../webauthn/registration.ts';
import type { RelyingParty } from '../../webauthn/relying-party.ts';
import { runPasskeyCeremony } from '../passkey-ceremony.ts';
import { signedIn, type AuthDeps, type Requester } from '../requester.ts';

/** Adding a passkey, step one (the step-up policy applies). */
export async function startAddingPasskey(deps: AuthDeps, rp: RelyingParty, requester: Requester) {
  const current = signedIn(requester);
  await requireAllowed(deps.db, 'factor.add', current, requester.now);
  return startPasskeyEnrollment(deps.db, deps.keyring, rp, { user: current.user, sessionId: current.session.id }, requester.now);
}

/** Adding a passkey, step two: bound to this session, which cannot step itself up with it. */
export async function finishAddingPasskey(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { ceremonyId: string; response: RegistrationResponseJSON; label: string | null; authenticatorNames?: AuthenticatorNames },
): Promise<Factor> {
  const current = signedIn(requester);
  const { session, user } = current;
  return runPasskeyCeremony(deps, requester, 'factor.add', async (trx) => {
    // Checked again here: the proof may have aged past the policy while the user held their key.
    await requireAllowed(trx, 'factor.add', current, requester.now);
    const outcome = await finishPasskeyEnrollment(trx, deps.keyring, rp, { ...input, userAgent: requester.userAgent, userId: user.id, sessionId: session.id }, requester.now, requester);
    if (!outcome.ok) return outcome;
    const { factor } = outcome.value;
    return { ok: true, value: { result: factor, userId: user.id, factorId: factor.id, details: { kind: 'passkey', aaguid: factor.aaguid, userVerified: factor.user_verified } } };
  });
}
