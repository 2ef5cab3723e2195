import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { User } from '../../db/schema.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { finishPasskeySignUp, startPasskeySignUp } from '../../webauthn/registration.ts';
import type { RelyingParty } from '../../webauthn/relying-party.ts';
import { completeSignIn } from '../complete-sign-in.ts';
import { runPasskeyCeremony } from '../passkey-ceremony.ts';
import type { AuthDeps, EstablishedSession, Requester } from '../requester.ts';

/** Sign-up with a passkey, step one: creation options for who the user will be. */
export function startSignUpWithPasskey(deps: AuthDeps, rp: RelyingParty, requester: Requester, input: { username: string; displayName: string | null }) {
  return startPasskeySignUp(deps.db, deps.keyring, rp, input, requester.now);
}

/** Sign-up with a passkey, step two: the user and their passkey are created and signed in. */
export async function signUpWithPasskey(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { ceremonyId: string; response: RegistrationResponseJSON; label: string | null; authenticatorNames?: AuthenticatorNames },
): Promise<{ user: User; established: EstablishedSession }> {
  return runPasskeyCeremony(deps, requester, 'passkey.signup', async (trx) => {
    const outcome = await finishPasskeySignUp(trx, deps.keyring, rp, { ...input, userAgent: requester.userAgent }, requester.now);
    if (!outcome.ok) return outcome;
    const { user, factor, userVerified } = outcome.value;
    const established = await completeSignIn(trx, deps, requester, { user, proof: { method: 'passkey', passkeyFactorId: factor.id, userVerified } });
    return {
      ok: true,
      value: { result: { user, established }, userId: user.id, factorId: factor.id, sessionId: established.session.id, details: { userVerified, aaguid: factor.aaguid } },
    };
  });
}
