import { generateAuthenticationOptions, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Kysely, Transaction } from 'kysely';
import type { DeferredWrites } from '../audit/deferred-writes.ts';
import { createCeremony, createCeremonyWithinLimit, type NewCeremony } from '../ceremonies/ceremonies.ts';
import { rateLimitVerdict, retryAfterSeconds, type RateLimitHit } from '../rate-limits/rate-limits.ts';
import { ceremonyData } from '../ceremonies/data.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Database, Factor, User } from '../db/schema.ts';
import type { Db } from '../db/database.ts';
import { LatchError } from '../errors.ts';
import {
  credentialDescriptor,
  flagPasskey,
  isSignCountSuspicious,
  passkeyFlagUpdate,
  listActivePasskeys,
  passkeyUseUpdate,
  recordPasskeyUse,
  storedPublicKey,
} from '../factors/passkey.ts';
import { notificationInsert, queueNotification, type NotificationOrigin } from '../notifications/outbox.ts';
import { findUserById, findUserByWebAuthnUserId, normalizeUsername } from '../users/users.ts';
import { consumeCeremonyAndLoadPasskey } from './assertion-state.ts';
import { decoyCredentials } from './decoy-credentials.ts';
import { refuse, type CeremonyOutcome } from './outcome.ts';
import { checkAssertion, PASSKEY_CEREMONY_TIMEOUT_MS, PASSKEY_CEREMONY_TTL_SECONDS, type RelyingParty } from './relying-party.ts';
import type { TotpRetirementFacts } from '../groups/rollout.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Passkey assertions: sign-in (discoverable, or for a named user) and step-up. SimpleWebAuthn
 * proves the signature; this module adds what it does not: the ceremony is used once and for its
 * own purpose, the credential is live and belongs to the expected user, and the counter grows.
 */

/** `identified`: options named a user's credentials, so only that user's passkey may finish. */
type SignInMode = 'discoverable' | 'identified';

/**
 * Sign-in, step one. Without a username: no allowCredentials, so the browser offers whatever
 * passkeys it holds for us (autofill and the passkey button). With one: that user's credentials —
 * or, for a username without passkeys or without an account, stable decoys of the same shape.
 */
export async function startPasskeySignIn(
  db: Db,
  keyring: Keyring,
  rp: RelyingParty,
  input: { username?: string | null },
  now: Date,
  /** The caller's rate limit, counted in the ceremony's own statement (no round trip of its own). */
  limit?: RateLimitHit,
) {
  let userId: string | null = null;
  let allowCredentials: { id: string; transports: string[] }[] | undefined;
  if (input.username) {
    const username = normalizeUsername(input.username);
    // One query whether or not the user exists, so both paths cost the same.
    const rows = await db
      .selectFrom('users')
      .leftJoin('factors', (join) =>
        join.onRef('factors.user_id', '=', 'users.id').on('factors.kind', '=', 'passkey').on('factors.status', '=', 'active'),
      )
      .select(['users.id as userId', 'factors.credential_id', 'factors.transports'])
      .where('users.username', '=', username)
      .orderBy('factors.created_at', 'asc')
      .execute();
    userId = rows[0]?.userId ?? null;
    const real = rows.filter((row) => row.credential_id !== null).map(credentialDescriptor);
    allowCredentials = real.length > 0 ? real : decoyCredentials(keyring, username);
  }
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    ...(allowCredentials ? { allowCredentials } : {}),
    timeout: PASSKEY_CEREMONY_TIMEOUT_MS,
    userVerification: 'preferred',
  });
  const mode: SignInMode = input.username ? 'identified' : 'discoverable';
  const ceremony: NewCeremony = { kind: 'passkey_signin', userId, challenge: options.challenge, data: { mode }, ttlSeconds: PASSKEY_CEREMONY_TTL_SECONDS };
  if (!limit) return { ceremonyId: await createCeremony(db, keyring, ceremony, now), options };
  const created = await createCeremonyWithinLimit(db, keyring, ceremony, now, limit);
  if (!created.ok) throw new LatchError('rate_limited', undefined, { retryAfterSeconds: created.retryAfterSeconds });
  return { ceremonyId: created.ceremonyId, options };
}

/**
 * Step-up, step one: the signed-in user's own passkeys, bound to this session. User verification
 * is required when any of them did it at registration (a step-up then proves two factors). A user
 * whose passkeys cannot verify them still proves possession: the step-up refreshes the session's
 * freshness without raising its assurance, rather than leaving them unable to step up at all.
 */
export async function startPasskeyStepUp(db: Db, keyring: Keyring, rp: RelyingParty, input: { userId: string; sessionId: string }, now: Date) {
  const passkeys = await listActivePasskeys(db, input.userId);
  if (passkeys.length === 0) throw new LatchError('factor_not_found', 'You have no passkey to confirm with.');
  const requireUserVerification = passkeys.some((passkey) => passkey.user_verified === true);
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: passkeys.map(credentialDescriptor),
    timeout: PASSKEY_CEREMONY_TIMEOUT_MS,
    userVerification: requireUserVerification ? 'required' : 'preferred',
  });
  const ceremonyId = await createCeremony(
    db,
    keyring,
    {
      kind: 'passkey_step_up',
      userId: input.userId,
      sessionId: input.sessionId,
      challenge: options.challenge,
      data: { requireUserVerification },
      ttlSeconds: PASSKEY_CEREMONY_TTL_SECONDS,
    },
    now,
  );
  return { ceremonyId, options };
}

export interface VerifiedPasskeyUse {
  user: User;
  factor: Factor;
  userVerified: boolean;
  /** A sign-in: what TOTP retirement needs (src/groups/rollout.ts). */
  retirement: TotpRetirementFacts | null;
}

export type AssertionPurpose =
  | { kind: 'passkey_signin' }
  | { kind: 'passkey_step_up'; userId: string; sessionId: string };

/**
 * Step two of a sign-in or a step-up, in the caller's transaction. Each guard says what it stops;
 * a refusal leaves the ceremony consumed (it was single-use whether or not the answer was right).
 */
export async function finishPasskeyAssertion(
  /** A transaction, or (given `deferred`, whose writes are then guarded by the passkey read here) the database itself. */
  trx: Executor,
  keyring: Keyring,
  rp: RelyingParty,
  /** `limit`: the request's rate limit, counted in the first statement; past it the ceremony is left unconsumed. */
  input: { ceremonyId: string; response: AuthenticationResponseJSON; limit?: RateLimitHit },
  purpose: AssertionPurpose,
  now: Date,
  /** Where the assertion came from, for the notification a flagged passkey sends. */
  from?: NotificationOrigin,
  /** Given: the passkey's new counter joins the request's other writes (one statement before the commit). */
  deferred?: DeferredWrites,
): Promise<CeremonyOutcome<VerifiedPasskeyUse>> {
  const signedInUserId = purpose.kind === 'passkey_step_up' ? purpose.userId : null;

  // One statement consumes the ceremony, reads and locks the passkey, and reads its owner.
  const state = await consumeCeremonyAndLoadPasskey(
    trx,
    keyring,
    { ceremonyId: input.ceremonyId, kind: purpose.kind, credentialId: input.response.id, ...(input.limit ? { limit: input.limit } : {}) },
    now,
  );
  // Too many requests from this address: refused before anything else is judged (or audited: a
  // flood of refusals must not become a flood of audit rows), as the limit's middleware did.
  if (input.limit && state.rateLimit) {
    const verdict = await rateLimitVerdict(trx, input.limit, state.rateLimit.row, now);
    if (!verdict.allowed) {
      return { ...refuse('rate_limited', 'rate_limited', { userId: signedInUserId, details: { retryAfterSeconds: retryAfterSeconds(verdict.state, now) } }), audited: false };
    }
  }
  // Single use, unexpired, and of this purpose: a registration or sign-in ceremony is no step-up.
  const ceremony = state.ceremony;
  if (!ceremony) return refuse('ceremony_invalid', 'ceremony_invalid', { userId: signedInUserId });
  // A step-up ceremony belongs to the session that asked for it.
  if (purpose.kind === 'passkey_step_up' && (ceremony.user_id !== purpose.userId || ceremony.session_id !== purpose.sessionId)) {
    return refuse('ceremony_invalid', 'ceremony_of_another_session', { userId: signedInUserId });
  }
  // The data has a schema per kind: a row of another shape is no ceremony of ours.
  const signInData = purpose.kind === 'passkey_signin' ? ceremonyData(ceremony, 'passkey_signin') : null;
  const stepUpData = purpose.kind === 'passkey_step_up' ? ceremonyData(ceremony, 'passkey_step_up') : null;
  if (!signInData && !stepUpData) return refuse('ceremony_invalid', 'ceremony_data_invalid', { userId: signedInUserId });
  const mode: SignInMode = purpose.kind === 'passkey_step_up' || signInData?.mode === 'identified' ? 'identified' : 'discoverable';

  const factor = state.factor;
  const forgetIt = { credentialId: input.response.id, rpId: rp.id };

  // A credential id we never registered. `credential_unknown` carries the id so the browser can
  // forget it (signalUnknownCredential) — but it must not tell a prober which ids are real:
  // username-first options hand out real ids for real users and decoys for everyone else, and a
  // junk assertion under a real id fails its signature (`passkey_verification_failed`).
  // - identified (options named a user, or a step-up): the browser could only offer an id the
  //   options listed, so an unknown id is a decoy or junk; answer exactly like a bad signature.
  // - discoverable: say `credential_unknown` only when the user handle names an account here —
  //   the authenticator holds that random 256-bit handle, a prober who harvested ids does not.
  //   A passkey left over from a wiped database or another deployment is then not signalled
  //   away; that costs the user a stale entry in the passkey picker, not an account.
  if (!factor) {
    const owner = mode === 'discoverable' && userHandleOf(input.response) ? await findUserByWebAuthnUserId(trx, userHandleOf(input.response)!) : null;
    if (!owner) return refuse('passkey_verification_failed', 'credential_unknown', { userId: signedInUserId });
    return refuse('credential_unknown', 'credential_unknown', { userId: owner.id, details: forgetIt });
  }
  // A removed credential: say so (so the browser forgets it) only to whoever proves they hold its
  // key — the signature must verify against the stored public key. Anyone else (a prober replaying
  // an id harvested from earlier sign-in options) gets the answer a bad signature gets, whatever
  // the mode: a revoked id must not confirm that its username once had a passkey.
  if (factor.status !== 'active') {
    const check = factor.public_key
      ? await checkAssertion(
          rp,
          input.response,
          ceremony.challenge!,
          { credentialId: factor.credential_id!, publicKey: storedPublicKey(factor), transports: factor.transports },
          { requireUserVerification: false },
        )
      : null;
    if (!check?.ok) return refuse('passkey_verification_failed', 'credential_revoked', { userId: factor.user_id, factorId: factor.id });
    return refuse('credential_unknown', 'credential_revoked', { userId: factor.user_id, factorId: factor.id, details: forgetIt });
  }
  // The options named a user (or the session is someone's): another user's passkey does not answer for them.
  if (mode === 'identified' && factor.user_id !== ceremony.user_id) {
    return refuse('passkey_verification_failed', 'credential_of_another_user', { userId: ceremony.user_id, factorId: factor.id });
  }
  const user = state.user;
  if (!user) return refuse('passkey_verification_failed', 'credential_unknown', { factorId: factor.id });

  // WebAuthn §7.2 step 6: the user handle, required when nobody was named, must be the credential's owner.
  const userHandle = input.response.response.userHandle;
  if (mode === 'discoverable' && !userHandle) {
    return refuse('passkey_verification_failed', 'user_handle_missing', { userId: user.id, factorId: factor.id });
  }
  if (userHandle && userHandle !== user.webauthn_user_id) {
    return refuse('passkey_verification_failed', 'user_handle_mismatch', { userId: user.id, factorId: factor.id });
  }

  // Decided when the step-up started (see startPasskeyStepUp); a missing flag means required.
  const requireUserVerification = stepUpData?.requireUserVerification ?? false;
  const check = await checkAssertion(
    rp,
    input.response,
    ceremony.challenge!,
    { credentialId: factor.credential_id!, publicKey: storedPublicKey(factor), transports: factor.transports },
    { requireUserVerification },
  );
  if (!check.ok) {
    const code = check.reason === 'user_not_verified' ? 'user_verification_required' : 'passkey_verification_failed';
    return refuse(code, check.reason, { userId: user.id, factorId: factor.id });
  }
  const assertion = check.value;

  // BE is fixed when the credential is made (§6.1.3): a change means this is not the key we registered.
  if (assertion.backupEligible !== factor.backup_eligible) {
    return refuse('passkey_verification_failed', 'backup_eligibility_changed', { userId: user.id, factorId: factor.id });
  }
  // Flagged as a possible clone earlier: refused, whatever its counter says now — a clone that ran
  // its counter ahead would otherwise win, and the genuine key be refused. Judged after the
  // signature, so only a holder of the key learns of the flag. The owner clears it from another
  // factor's session (POST /api/factors/passkeys/{id}/clear-flag) or removes the passkey.
  if (factor.flagged_at !== null) {
    return refuse('possible_cloned_authenticator', 'passkey_flagged', {
      userId: user.id,
      factorId: factor.id,
      auditDetails: { flaggedReason: factor.flagged_reason },
    });
  }
  // A counter that does not grow: two copies of the key exist. Refuse, and flag it — the flag commits with the refusal.
  const storedCount = Number(factor.sign_count);
  if (isSignCountSuspicious(storedCount, assertion.newCounter)) {
    const flagged = { userId: user.id, kind: 'factor_flagged' as const, payload: { factorId: factor.id, kind: 'passkey', label: factor.label, reason: 'sign_count_not_increasing' }, now, from };
    if (deferred) {
      // With the refusal's audit row, in one statement (there may be no transaction around us).
      deferred.add(passkeyFlagUpdate(trx, factor.id, 'sign_count_not_increasing', now));
      deferred.add(notificationInsert(trx, flagged));
    } else {
      await flagPasskey(trx, factor.id, 'sign_count_not_increasing', now);
      await queueNotification(trx, flagged);
    }
    return refuse('possible_cloned_authenticator', 'sign_count_not_increasing', {
      userId: user.id,
      factorId: factor.id,
      auditDetails: { storedSignCount: storedCount, receivedSignCount: assertion.newCounter },
    });
  }
  if (user.status !== 'active') {
    return refuse('passkey_verification_failed', 'account_disabled', { userId: user.id, factorId: factor.id });
  }

  const use = { counter: assertion.newCounter, backedUp: assertion.backedUp };
  if (deferred) {
    // Outside a transaction nothing holds the passkey's row since it was read: the writes happen
    // only if it is still active, unflagged and at the counter judged here. A parallel sign-in
    // that moved the counter first makes this one fail as a whole (`passkey_changed`, try again),
    // where a lock would have queued it and judged its counter against the new one.
    deferred.require(
      passkeyUseUpdate(trx, factor.id, use, now)
        .where('status', '=', 'active')
        .where('flagged_at', 'is', null)
        .where('sign_count', '=', factor.sign_count)
        .returning('id'),
      'passkey_changed',
    );
  } else await recordPasskeyUse(trx, factor.id, use, now);
  return { ok: true, value: { user, factor, userVerified: assertion.userVerified, retirement: state.retirement } };
}

function userHandleOf(response: AuthenticationResponseJSON): string | null {
  return response.response.userHandle || null;
}
