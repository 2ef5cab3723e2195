import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { User } from '../../db/schema.ts';
import type { RateLimitHit } from '../../rate-limits/rate-limits.ts';
import { finishPasskeyAssertion, startPasskeySignIn } from '../../webauthn/authentication.ts';
import type { RelyingParty } from '../../webauthn/relying-party.ts';
import { completeSignIn, retireTotpAfterSignIn } from '../complete-sign-in.ts';
import { runPasskeyCeremonyWithoutTransaction } from '../passkey-ceremony.ts';
import type { AuthDeps, EstablishedSession, Requester } from '../requester.ts';

/** Sign-in with a passkey, step one: options for any passkey (autofill) or for a named user's. */
export function startSignInWithPasskey(deps: AuthDeps, rp: RelyingParty, requester: Requester, input: { username: string | null; limit?: RateLimitHit }) {
  return startPasskeySignIn(deps.db, deps.keyring, rp, input, requester.now, input.limit);
}

/**
 * Sign-in with a passkey, step two: the assertion is verified and the session established, audited
 * either way. Two statements and no transaction: see runPasskeyCeremonyWithoutTransaction.
 */
export async function signInWithPasskey(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { ceremonyId: string; response: AuthenticationResponseJSON; limit?: RateLimitHit },
): Promise<{ user: User; established: EstablishedSession }> {
  const signedIn = await runPasskeyCeremonyWithoutTransaction(deps, requester, 'passkey.signin', async (db, deferred) => {
    const outcome = await finishPasskeyAssertion(db, deps.keyring, rp, input, { kind: 'passkey_signin' }, requester.now, requester, deferred);
    if (!outcome.ok) return outcome;
    const { user, factor, userVerified, retirement } = outcome.value;
    const established = await completeSignIn(db, deps, requester, { user, proof: { method: 'passkey', passkeyFactorId: factor.id, userVerified }, retirement }, deferred);
    return { ok: true, value: { result: { user, established }, userId: user.id, factorId: factor.id, sessionId: established.session.id, details: { userVerified } } };
  });
  // The group's TOTP retirement, when this sign-in reached it: after the commit (see completeSignIn).
  await retireTotpAfterSignIn(deps, requester, signedIn.established.retirement);
  return signedIn;
}
