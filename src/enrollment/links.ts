import type { Kysely, Transaction } from 'kysely';
import { keyedHash, randomToken, type Keyring } from '../crypto/keyring.ts';
import type { Database, EnrollmentLink, EnrollmentLinkPurpose } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

const LINK_PURPOSE = 'enrollment-link';

/** The path of the page a link opens; the token travels in the fragment, so it never reaches a server log. */
export const ENROLLMENT_PATH = '/enroll';

export function hashEnrollmentToken(keyring: Keyring, token: string): string {
  return keyedHash(keyring, LINK_PURPOSE, token);
}

export function enrollmentUrl(origin: string, token: string): string {
  return `${origin}${ENROLLMENT_PATH}#token=${token}`;
}

/**
 * Creates a single-use enrollment link for a user: the token is returned once (to print or send)
 * and only its keyed hash is stored. The caller writes the audit row in the same transaction.
 */
export async function createEnrollmentLink(
  db: Executor,
  keyring: Keyring,
  link: { userId: string; purpose: EnrollmentLinkPurpose; ttlSeconds: number; createdBy: string | null; now: Date },
): Promise<{ token: string; link: EnrollmentLink }> {
  const token = randomToken(32);
  const created = await db
    .insertInto('enrollment_links')
    .values({
      token_hash: hashEnrollmentToken(keyring, token),
      user_id: link.userId,
      purpose: link.purpose,
      created_by: link.createdBy,
      created_at: link.now,
      expires_at: new Date(link.now.getTime() + link.ttlSeconds * 1000),
      used_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, link: created };
}

/** The link a token names, if it is unused and unexpired; null otherwise (no reason given: the token is a bearer secret). */
export async function findUsableEnrollmentLink(db: Executor, keyring: Keyring, token: string, now: Date): Promise<EnrollmentLink | null> {
  const link = await db
    .selectFrom('enrollment_links')
    .selectAll()
    .where('token_hash', '=', hashEnrollmentToken(keyring, token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return link ?? null;
}

/**
 * Marks the link used, exactly once: of two concurrent uses one gets the row and the other null.
 * Call it in the transaction that enrolls the factor, so a failed enrollment leaves the link usable.
 */
export async function consumeEnrollmentLink(db: Executor, keyring: Keyring, token: string, now: Date): Promise<EnrollmentLink | null> {
  const link = await db
    .updateTable('enrollment_links')
    .set({ used_at: now })
    .where('token_hash', '=', hashEnrollmentToken(keyring, token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
  return link ?? null;
}

/** Ends a user's unused links of one purpose (a new link replaces the old one). */
export async function revokeEnrollmentLinks(db: Executor, userId: string, purpose: EnrollmentLinkPurpose, now: Date): Promise<number> {
  const result = await db
    .updateTable('enrollment_links')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
