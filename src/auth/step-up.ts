import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.ts';
import type { Database } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { listActivePasskeys } from '../factors/passkey.ts';
import { findActiveTotp, useTotpCode } from '../factors/totp.ts';
import { accountSubject, claimSecondFactorAttempt, resetSecondFactorAttempts, wrongCodeDetails } from '../lockout/second-factor.ts';
import { stepUpAssurance, type StepUpProof } from '../policy/assurance.ts';
import { rotateSession } from '../sessions/sessions.ts';
import { finishPasskeyAssertion, startPasskeyStepUp } from '../webauthn/authentication.ts';
import type { RelyingParty } from '../webauthn/relying-party.ts';
import { runPasskeyCeremony } from './passkey-ceremony.ts';
import { byOwner, signedIn, type AuthDeps, type EstablishedSession, type Requester } from './requester.ts';

/**
 * Records a fresh proof on the requester's session: the factor joins the session's `factor_ids`
 * (revoking it ends the session it elevated), the assurance rises as the policy says, the token
 * rotates (a token seen before the step-up is worthless after it), and the audit row is written.
 */
export async function completeStepUp(trx: Transaction<Database>, deps: AuthDeps, requester: Requester, proof: StepUpProof): Promise<EstablishedSession> {
  const current = signedIn(requester);
  const { session } = current;
  const assurance = stepUpAssurance(proof);
  const rotated = await rotateSession(trx, deps.keyring, session.id, requester.now, { stepUp: true, ...assurance });
  if (!rotated) throw new LatchError('unauthenticated');
  await recordAudit(trx, requester, {
    action: 'session.step_up',
    outcome: 'success',
    ...byOwner(current),
    factorId: proof.factorId,
    details: { method: proof.method },
  });
  return rotated;
}

/**
 * Step-up with a code from the authenticator app. The attempt is counted before the code is
 * checked (per account and address, per account, and per session), so parallel guesses get no
 * more checks than the limits allow.
 */
export async function stepUpWithTotp(deps: AuthDeps, requester: Requester, input: { code: string }): Promise<EstablishedSession> {
  const current = signedIn(requester);
  const { session, user } = current;
  const totp = await findActiveTotp(deps.db, user.id);
  if (!totp) throw new LatchError('totp_not_enrolled');
  if (totp.bound_session_id === session.id) throw new LatchError('factor_bound_in_session');
  const subject = accountSubject(user.id);
  const claimed = await claimSecondFactorAttempt(deps.db, requester, { subject, method: 'totp', sessionId: session.id });
  const stepped = await deps.db.transaction().execute(async (trx) => {
    if (!(await useTotpCode(trx, deps.keyring, totp, input.code, requester.now))) return null;
    await resetSecondFactorAttempts(trx, { subject, method: 'totp', clientAddress: requester.clientAddress, sessionId: session.id });
    return completeStepUp(trx, deps, requester, { method: 'totp', factorId: totp.id });
  });
  if (stepped) return stepped;
  await recordAudit(deps.db, requester, { action: 'session.step_up', outcome: 'failure', ...byOwner(current), factorId: totp.id, details: { method: 'totp' } });
  throw new LatchError('code_invalid', undefined, wrongCodeDetails(claimed));
}

/** Step-up with a passkey, step one: the user's passkeys, for this session. */
export async function startStepUpWithPasskey(deps: AuthDeps, rp: RelyingParty, requester: Requester) {
  const { session, user } = signedIn(requester);
  const passkeys = await listActivePasskeys(deps.db, user.id);
  // Passkeys bound in this session cannot step it up; when they are all it has, say so now.
  if (passkeys.length > 0 && passkeys.every((passkey) => passkey.bound_session_id === session.id)) throw new LatchError('factor_bound_in_session');
  return startPasskeyStepUp(deps.db, deps.keyring, rp, { userId: user.id, sessionId: session.id }, requester.now);
}

/** Step-up with a passkey, step two. */
export async function stepUpWithPasskey(
  deps: AuthDeps,
  rp: RelyingParty,
  requester: Requester,
  input: { ceremonyId: string; response: AuthenticationResponseJSON },
): Promise<EstablishedSession> {
  const { session, user } = signedIn(requester);
  return runPasskeyCeremony(deps, requester, 'passkey.step_up', async (trx) => {
    const purpose = { kind: 'passkey_step_up' as const, userId: user.id, sessionId: session.id };
    const outcome = await finishPasskeyAssertion(trx, deps.keyring, rp, input, purpose, requester.now, requester);
    if (!outcome.ok) return outcome;
    const { factor, userVerified } = outcome.value;
    if (factor.bound_session_id === session.id) throw new LatchError('factor_bound_in_session');
    const result = await completeStepUp(trx, deps, requester, { method: 'passkey', factorId: factor.id, userVerified });
    return { ok: true, value: { result, userId: user.id, factorId: factor.id, details: { userVerified } } };
  });
}
