import type { Kysely, Transaction } from 'kysely';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import { keyedHash, type Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { queueNotification } from '../notifications/outbox.ts';
import { claimAttempt, type AttemptRule } from '../rate-limits/attempts.ts';
import { rateLimitKeys, resetRateLimits } from '../rate-limits/rate-limits.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Second-factor guesses (TOTP codes and backup codes, at sign-in and step-up), counted in the
 * database before each code is checked, so every instance sees them and a burst of parallel
 * requests gets no more checks than the rules allow. Each method has its own counters: a locked
 * TOTP path leaves backup codes (and passkeys, and remembered browsers) working.
 *
 * - subject + method + client address: 5 attempts in 15 minutes, then that address is refused
 *   for 15 minutes. Hammering locks out only the hammerer's own address.
 * - subject + method, over all addresses: 10 attempts a day are free, then each needs a wait that
 *   doubles from 30 s to at most an hour. It slows distributed guessing to about 40 codes a day
 *   (NIST 800-63B: at most 100 consecutive failures) but never locks the owner out for longer
 *   than the current delay, and the owner is told when it starts.
 * - a step-up also counts per session: a stolen session cannot spread its guesses.
 *
 * The subject is the account only when the password was right (or for a step-up, where the
 * session proved the account). Wrong passwords and unknown usernames count against a subject of
 * their own, derived from the username, under the same rules: whoever does not know the password
 * can neither lock the owner out nor tell from the answers whether a password was right.
 */
export const perAddressRule: AttemptRule = { kind: 'cap', limit: 5, windowSeconds: 15 * 60, lockoutSeconds: 15 * 60 };
export const perSubjectThrottle: AttemptRule = { kind: 'throttle', freeAttempts: 10, windowSeconds: 24 * 60 * 60, baseDelaySeconds: 30, maxDelaySeconds: 60 * 60 };
export const perSessionStepUpRule: AttemptRule = { kind: 'cap', limit: 5, windowSeconds: 15 * 60, lockoutSeconds: 15 * 60 };

export type SecondFactorMethod = 'totp' | 'backup_code';

/** Who the counters are about: the user (password right, or a session's owner) or a username's guessers. */
export interface LockoutSubject {
  subject: string;
  /** The account, when the counters are the account's; null for a username's guessers. */
  userId: string | null;
}

export function accountSubject(userId: string): LockoutSubject {
  return { subject: userId, userId };
}

/** The counters of whoever guesses at a username without its password (also for names nobody has). */
export function guesserSubject(keyring: Keyring, normalizedUsername: string): LockoutSubject {
  return { subject: `guess-${keyedHash(keyring, 'lockout-username', normalizedUsername).slice(0, 32)}`, userId: null };
}

function keysOf(subject: LockoutSubject, method: SecondFactorMethod, clientAddress: string | null) {
  const scoped = `${method}:${subject.subject}`;
  return { address: rateLimitKeys.secondFactorAccountAddress(scoped, clientAddress), subject: rateLimitKeys.secondFactorAccount(scoped) };
}

const sessionKey = (sessionId: string) => `2fa:step-up:session:${sessionId}`;

/** What is left after a claimed attempt, for the answer to a wrong code. */
export interface ClaimedAttempt {
  /** Codes this address (and session, for a step-up) may still try in the window. */
  attemptsLeft: number;
  /** When this attempt used up the last one: how long the lock that starts now lasts. */
  lockedForSeconds: number | null;
}

/**
 * What a wrong code answers (`code_invalid` details): the attempts left, the smaller of the
 * lockout's and any other limit's (a ticket's tries); the try that starts a lock says how long it
 * lasts instead of "1 attempt left".
 */
export function wrongCodeDetails(claimed: ClaimedAttempt, otherAttemptsLeft = Number.POSITIVE_INFINITY): Record<string, unknown> {
  return {
    attemptsLeft: Math.min(otherAttemptsLeft, claimed.attemptsLeft),
    ...(claimed.lockedForSeconds !== null ? { lockedForSeconds: claimed.lockedForSeconds } : {}),
  };
}

function attemptsLeftUnder(rule: AttemptRule, count: number): number {
  return rule.kind === 'cap' ? Math.max(0, rule.limit - count) : Number.POSITIVE_INFINITY;
}

/**
 * Claims one code check, or throws `locked_out` (429, with when to retry). Commits on its own:
 * the attempt stays counted whatever happens to the check. When the throttle starts, the owner
 * is notified and the audit log says so, in the same transaction as the count.
 */
export async function claimSecondFactorAttempt(
  db: Kysely<Database>,
  context: RequestContext,
  input: { subject: LockoutSubject; method: SecondFactorMethod; sessionId?: string | null },
): Promise<ClaimedAttempt> {
  const keys = keysOf(input.subject, input.method, context.clientAddress);
  const outcome = await db.transaction().execute(async (trx) => {
    const byAddress = await claimAttempt(trx, keys.address, perAddressRule, context.now);
    if (!byAddress.allowed) return byAddress;
    let attemptsLeft = attemptsLeftUnder(perAddressRule, byAddress.count);
    let lockedForSeconds = attemptsLeft === 0 && perAddressRule.kind === 'cap' ? perAddressRule.lockoutSeconds : null;
    if (input.sessionId) {
      const bySession = await claimAttempt(trx, sessionKey(input.sessionId), perSessionStepUpRule, context.now);
      if (!bySession.allowed) return bySession;
      const leftInSession = attemptsLeftUnder(perSessionStepUpRule, bySession.count);
      if (leftInSession === 0 && perSessionStepUpRule.kind === 'cap') lockedForSeconds = Math.max(lockedForSeconds ?? 0, perSessionStepUpRule.lockoutSeconds);
      attemptsLeft = Math.min(attemptsLeft, leftInSession);
    }
    const bySubject = await claimAttempt(trx, keys.subject, perSubjectThrottle, context.now);
    if (!bySubject.allowed) return bySubject;
    if (bySubject.throttleEngaged && input.subject.userId) {
      const userId = input.subject.userId;
      await recordAudit(trx, context, { action: 'second_factor.throttled', outcome: 'success', subjectUserId: userId, details: { method: input.method } });
      await queueNotification(trx, { userId, kind: 'second_factor_throttled', payload: { method: input.method }, now: context.now, from: context });
    }
    return { allowed: true as const, attemptsLeft, lockedForSeconds };
  });
  if (!outcome.allowed) throw new LatchError('locked_out', undefined, { retryAfterSeconds: outcome.retryAfterSeconds });
  return { attemptsLeft: outcome.attemptsLeft, lockedForSeconds: outcome.lockedForSeconds };
}

/** A right code gives the attempts back: the counters of this subject, method and address start over. */
export async function resetSecondFactorAttempts(
  db: Executor,
  input: { subject: LockoutSubject; method: SecondFactorMethod; clientAddress: string | null; sessionId?: string | null },
): Promise<void> {
  const keys = keysOf(input.subject, input.method, input.clientAddress);
  await resetRateLimits(db, [keys.address, keys.subject, ...(input.sessionId ? [sessionKey(input.sessionId)] : [])]);
}
