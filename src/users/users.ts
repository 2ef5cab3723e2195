import type { Kysely, Transaction } from 'kysely';
import { randomToken } from '../crypto/keyring.ts';
import type { Database, User } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** Usernames compare case-insensitively and ignore surrounding space. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

export async function findUserByUsername(db: Executor, username: string): Promise<User | null> {
  const user = await db.selectFrom('users').selectAll().where('username', '=', normalizeUsername(username)).executeTakeFirst();
  return user ?? null;
}

export async function findUserById(db: Executor, id: string): Promise<User | null> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return user ?? null;
}

export async function findUserByWebAuthnUserId(db: Executor, webauthnUserId: string): Promise<User | null> {
  const user = await db.selectFrom('users').selectAll().where('webauthn_user_id', '=', webauthnUserId).executeTakeFirst();
  return user ?? null;
}

/** Inserts a user, or returns null when the username is taken (also when a concurrent sign-up took it first). */
export async function createUser(
  db: Executor,
  user: { username: string; displayName?: string | null; webauthnUserId?: string },
  now: Date,
): Promise<User | null> {
  const username = normalizeUsername(user.username);
  const created = await db
    .insertInto('users')
    .values({
      username,
      display_name: user.displayName?.trim() || username,
      webauthn_user_id: user.webauthnUserId ?? randomToken(32),
      status: 'active',
      created_at: now,
      updated_at: now,
      disabled_at: null,
    })
    .onConflict((oc) => oc.column('username').doNothing())
    .returningAll()
    .executeTakeFirst();
  return created ?? null;
}

/**
 * The user as the API shows it (to that user). `webauthnUserId` is the user handle their passkeys
 * hold: the browser client names it in WebAuthn Signal API calls.
 */
export function publicUser(user: User) {
  return { id: user.id, username: user.username, displayName: user.display_name, webauthnUserId: user.webauthn_user_id, createdAt: user.created_at.toISOString() };
}
