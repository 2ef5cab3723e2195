import type { Kysely, Transaction } from 'kysely';
import { keyedHash, type Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { checkRateLimit, hitRateLimit, rateLimitKeys, resetRateLimit, type RateLimitRule } from '../rate-limits/rate-limits.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Failed second-factor attempts (TOTP codes, backup codes), counted in the database so every
 * instance sees them. Two counters per attempt:
 *
 * - account + client address: 5 failures in 15 minutes refuse that address for that account for
 *   15 minutes. An attacker locks out only themselves.
 * - account, over all addresses: 20 failures in a day refuse codes for the account for an hour,
 *   and every further failure that day renews the hour — about 43 guesses a day at most, however
 *   many addresses the attacker has (NIST 800-63B asks for no more than 100 consecutive).
 *
 * A success clears both. Passkey sign-in and remembered browsers never touch these counters.
 */
export const accountAddressRule: RateLimitRule = { limit: 5, windowSeconds: 15 * 60, lockoutSeconds: 15 * 60 };
export const accountRule: RateLimitRule = { limit: 20, windowSeconds: 24 * 60 * 60, lockoutSeconds: 60 * 60 };

/**
 * Who the counters are about. A username that does not exist gets counters of its own (keyed by a
 * keyed hash of the name), so it locks exactly like a real account and lockouts reveal nothing.
 */
export function lockoutSubject(keyring: Keyring, userId: string | null, normalizedUsername: string): string {
  return userId ?? `unknown-${keyedHash(keyring, 'lockout-username', normalizedUsername).slice(0, 32)}`;
}

function keysOf(subject: string, clientAddress: string | null) {
  return { accountAddress: rateLimitKeys.secondFactorAccountAddress(subject, clientAddress), account: rateLimitKeys.secondFactorAccount(subject) };
}

/** Throws `locked_out` (429, with when to retry) while either counter refuses this attempt. */
export async function assertNotLockedOut(db: Executor, subject: string, clientAddress: string | null, now: Date): Promise<void> {
  const keys = keysOf(subject, clientAddress);
  const [byAddress, byAccount] = await Promise.all([checkRateLimit(db, keys.accountAddress, now), checkRateLimit(db, keys.account, now)]);
  const lockedUntil = [byAddress.lockedUntil, byAccount.lockedUntil].filter((date): date is Date => date !== null).sort((a, b) => b.getTime() - a.getTime())[0];
  if (lockedUntil) {
    throw new LatchError('locked_out', undefined, { retryAfterSeconds: Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000) });
  }
}

export async function recordSecondFactorFailure(db: Executor, subject: string, clientAddress: string | null, now: Date): Promise<void> {
  const keys = keysOf(subject, clientAddress);
  await hitRateLimit(db, keys.accountAddress, accountAddressRule, now);
  await hitRateLimit(db, keys.account, accountRule, now);
}

export async function resetSecondFactorFailures(db: Executor, subject: string, clientAddress: string | null): Promise<void> {
  const keys = keysOf(subject, clientAddress);
  await resetRateLimit(db, keys.accountAddress);
  await resetRateLimit(db, keys.account);
}
