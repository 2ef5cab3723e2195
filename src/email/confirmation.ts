import { randomInt } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { cancelCeremoniesOfUser, consumeCeremonyRow, createCeremony, spendUserCeremonyAttempt } from '../ceremonies/ceremonies.ts';
import { ceremonyData } from '../ceremonies/data.ts';
import { constantTimeEqual, keyedHash, type Keyring } from '../crypto/keyring.ts';
import type { Ceremony, Database } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** Short-lived and single-use: long enough to switch to the mail app, short enough to be worth little. */
export const EMAIL_CODE_TTL_SECONDS = 15 * 60;
/** Wrong codes one confirmation survives; with 6 digits and the sending rate limit, guessing is hopeless. */
export const EMAIL_CODE_MAX_ATTEMPTS = 5;
const CODE_PURPOSE = 'email-confirm-code';

export interface PendingConfirmation {
  email: string;
  expiresAt: Date;
}

function codeHash(keyring: Keyring, userId: string, code: string): string {
  // Bound to the user: a code (or its hash) from one account means nothing for another.
  return keyedHash(keyring, CODE_PURPOSE, `${userId}:${code}`);
}

/**
 * Starts confirming `email` for the user: any earlier confirmation is cancelled, a fresh 6-digit
 * code is made, and only its keyed hash stored (in an `email_confirm` ceremony). The code is
 * returned to be mailed at once; it is never stored, logged or queued.
 */
export async function startEmailConfirmation(db: Executor, keyring: Keyring, userId: string, email: string, now: Date): Promise<{ code: string; expiresAt: Date }> {
  await cancelCeremoniesOfUser(db, userId, 'email_confirm', now);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  await createCeremony(
    db,
    keyring,
    { kind: 'email_confirm', userId, data: { email, codeHash: codeHash(keyring, userId, code) }, ttlSeconds: EMAIL_CODE_TTL_SECONDS, maxAttempts: EMAIL_CODE_MAX_ATTEMPTS },
    now,
  );
  return { code, expiresAt: new Date(now.getTime() + EMAIL_CODE_TTL_SECONDS * 1000) };
}

/** The address waiting for its code, if any (live: not expired, consumed, or out of attempts). */
export async function pendingConfirmation(db: Executor, userId: string, now: Date): Promise<PendingConfirmation | null> {
  const rows = await db
    .selectFrom('ceremonies')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', 'email_confirm')
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .where((eb) => eb('attempts', '<', eb.ref('max_attempts')))
    .execute();
  for (const row of rows) {
    const data = ceremonyData(row, 'email_confirm');
    if (data) return { email: data.email, expiresAt: row.expires_at };
  }
  return null;
}

export type CodeCheck =
  | { outcome: 'none' }
  | { outcome: 'wrong'; attemptsLeft: number }
  | { outcome: 'right'; ceremony: Ceremony; email: string };

/**
 * Spends one attempt of the user's pending confirmation and compares the code. The attempt is
 * spent in its own statement, before the comparison, so that a wrong code counts even when the
 * caller's later work fails, and parallel guesses cannot share one attempt.
 */
export async function checkEmailCode(db: Executor, keyring: Keyring, userId: string, code: string, now: Date): Promise<CodeCheck> {
  const ceremony = await spendUserCeremonyAttempt(db, userId, 'email_confirm', now);
  const data = ceremony ? ceremonyData(ceremony, 'email_confirm') : null;
  if (!ceremony || !data) return { outcome: 'none' };
  if (!constantTimeEqual(data.codeHash, codeHash(keyring, userId, code))) {
    return { outcome: 'wrong', attemptsLeft: Math.max(0, ceremony.max_attempts - ceremony.attempts) };
  }
  return { outcome: 'right', ceremony, email: data.email };
}

/** Uses up the confirmation whose code was right; null when a parallel request already did. */
export function consumeEmailConfirmation(db: Executor, ceremony: Ceremony, now: Date) {
  return consumeCeremonyRow(db, ceremony, now);
}

export function cancelEmailConfirmation(db: Executor, userId: string, now: Date) {
  return cancelCeremoniesOfUser(db, userId, 'email_confirm', now);
}
