import { queueNotification } from '../notifications/outbox.ts';
import { sql, type ExpressionBuilder, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import type { Database, User } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { revokeAllSessions, revokeSession } from '../sessions/sessions.ts';
import { findUserById, findUserByUsername } from '../users/users.ts';
import { byAdmin, type AdminActor } from './actor.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Users as administrators see and change them: the role, the account's status (disabling ends
 * every session at once), per-user exemptions from the passkey requirement, and the search.
 * Every change writes its audit row (admin as actor, user as subject) in the caller's transaction.
 */

/**
 * What a user signs in with beyond a password, from their active factors: a passkey, an
 * authenticator app (TOTP), both, or neither ("no second factor": at most a password and backup
 * codes, which only recover).
 */
export type FactorState = 'passkey_only' | 'passkey_and_totp' | 'totp_only' | 'none';
export const FACTOR_STATES = ['passkey_only', 'passkey_and_totp', 'totp_only', 'none'] as const satisfies readonly FactorState[];

function hasActive(kind: 'passkey' | 'totp'): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from factors f where f.user_id = users.id and f.kind = ${kind} and f.status = 'active')`;
}

/** The factor state of `users` in a query, as SQL (one definition for the search and the figures). */
export function factorStateSql(): RawBuilder<FactorState> {
  const passkey = hasActive('passkey');
  const totp = hasActive('totp');
  return sql<FactorState>`case when ${passkey} and ${totp} then 'passkey_and_totp' when ${passkey} then 'passkey_only' when ${totp} then 'totp_only' else 'none' end`;
}

export async function requireUser(db: Executor, userId: string): Promise<User> {
  const user = await findUserById(db, userId);
  if (!user) throw new LatchError('user_not_found');
  return user;
}

export async function requireUserByUsername(db: Executor, username: string): Promise<User> {
  const user = await findUserByUsername(db, username);
  if (!user) throw new LatchError('user_not_found', `No user named "${username}".`);
  return user;
}

export interface UserSearch {
  /** Usernames starting with this (normalised like usernames). */
  prefix?: string | null;
  groupId?: string | null;
  factorState?: FactorState | null;
  status?: 'active' | 'disabled' | null;
  limit: number;
  /** Keyset paging: the last username of the previous page. */
  after?: string | null;
}

export interface UserListItem {
  id: string;
  username: string;
  displayName: string;
  status: 'active' | 'disabled';
  isAdmin: boolean;
  factorState: FactorState;
  createdAt: string;
}

/** Users by username, filtered by prefix, group and factor state, a page at a time. */
export async function searchUsers(db: Executor, search: UserSearch): Promise<{ users: UserListItem[]; nextAfter: string | null }> {
  const state = factorStateSql();
  let query = db
    .selectFrom('users')
    .select(['users.id', 'users.username', 'users.display_name', 'users.status', 'users.is_admin', 'users.created_at'])
    .select(state.as('factor_state'))
    .orderBy('users.username', 'asc')
    .limit(search.limit + 1);
  if (search.prefix) query = query.where('users.username', 'like', `${escapeLike(search.prefix.normalize('NFKC').trim().toLowerCase())}%`);
  if (search.after) query = query.where('users.username', '>', search.after);
  if (search.status) query = query.where('users.status', '=', search.status);
  if (search.factorState) query = query.where(state, '=', search.factorState);
  if (search.groupId) {
    const groupId = search.groupId;
    query = query.where((eb: ExpressionBuilder<Database, 'users'>) =>
      eb.or([
        eb.exists(eb.selectFrom('groups').select(sql`1`.as('one')).where('groups.id', '=', groupId).where('groups.is_default', '=', true)),
        eb.exists(eb.selectFrom('group_members').select(sql`1`.as('one')).where('group_members.group_id', '=', groupId).whereRef('group_members.user_id', '=', 'users.id')),
      ]),
    );
  }
  const rows = await query.execute();
  const page = rows.slice(0, search.limit);
  return {
    users: page.map((row) => ({
      id: row.id,
      username: row.username,
      displayName: row.display_name,
      status: row.status,
      isAdmin: row.is_admin,
      factorState: row.factor_state,
      createdAt: row.created_at.toISOString(),
    })),
    nextAfter: rows.length > search.limit ? page.at(-1)!.username : null,
  };
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}

export type SetAdminRoleResult =
  | { outcome: 'changed' | 'unchanged'; user: User }
  /** Refused, and the refusal audited: the caller commits the transaction so the audit row stays, then throws last_admin. */
  | { outcome: 'refused_last_admin' };

/**
 * Makes a user an administrator or takes it away. Taking it from the last administrator is
 * refused: the admins are locked while counted, so two concurrent demotions cannot both pass.
 */
export async function setAdminRole(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { userId: string; isAdmin: boolean; reason?: string },
): Promise<SetAdminRoleResult> {
  const admins = await trx.selectFrom('users').select(['id']).where('is_admin', '=', true).where('status', '=', 'active').orderBy('id').forUpdate().execute();
  const user = await lockUser(trx, input.userId);
  if (user.is_admin === input.isAdmin) return { outcome: 'unchanged', user };
  if (!input.isAdmin && admins.every((admin) => admin.id === user.id)) {
    await recordAudit(trx, context, { action: 'user.demote', outcome: 'denied', ...byAdmin(actor, user.id, { reason: 'last_admin' }) });
    return { outcome: 'refused_last_admin' };
  }
  const updated = await trx.updateTable('users').set({ is_admin: input.isAdmin, updated_at: context.now }).where('id', '=', user.id).returningAll().executeTakeFirstOrThrow();
  await recordAudit(trx, context, {
    action: input.isAdmin ? 'user.promote' : 'user.demote',
    outcome: 'success',
    ...byAdmin(actor, user.id, input.reason ? { reason: input.reason } : {}),
  });
  return { outcome: 'changed', user: updated };
}

/**
 * Disables an account: it can no longer sign in (every sign-in path checks the status) and every
 * one of its sessions ends now, in this transaction. An admin cannot disable themselves, nor the
 * last active administrator.
 */
export async function disableUser(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { userId: string }): Promise<{ user: User; endedSessions: number }> {
  if (actor.userId === input.userId) throw new LatchError('forbidden', 'You cannot disable your own account.', { reason: 'self' });
  const admins = await trx.selectFrom('users').select(['id']).where('is_admin', '=', true).where('status', '=', 'active').orderBy('id').forUpdate().execute();
  const user = await lockUser(trx, input.userId);
  if (user.status === 'disabled') return { user, endedSessions: 0 };
  if (user.is_admin && admins.every((admin) => admin.id === user.id)) throw new LatchError('last_admin');
  const updated = await trx
    .updateTable('users')
    .set({ status: 'disabled', disabled_at: context.now, updated_at: context.now })
    .where('id', '=', user.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const ended = await revokeAllSessions(trx, user.id, 'account_disabled', context.now);
  await recordAudit(trx, context, { action: 'user.disable', outcome: 'success', ...byAdmin(actor, user.id, { endedSessions: ended.length }) });
  await queueNotification(trx, { userId: user.id, kind: 'account_disabled', payload: {}, now: context.now, from: context });
  return { user: updated, endedSessions: ended.length };
}

export async function enableUser(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { userId: string }): Promise<User> {
  const user = await lockUser(trx, input.userId);
  if (user.status === 'active') return user;
  const updated = await trx
    .updateTable('users')
    .set({ status: 'active', disabled_at: null, updated_at: context.now })
    .where('id', '=', user.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(trx, context, { action: 'user.enable', outcome: 'success', ...byAdmin(actor, user.id) });
  await queueNotification(trx, { userId: user.id, kind: 'account_enabled', payload: {}, now: context.now, from: context });
  return updated;
}

/** Ends one live session of any user, through the sessions module. */
export async function endUserSession(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { sessionId: string }): Promise<{ userId: string }> {
  const session = await trx.selectFrom('sessions').select(['id', 'user_id']).where('id', '=', input.sessionId).where('revoked_at', 'is', null).executeTakeFirst();
  if (!session || !(await revokeSession(trx, session.id, 'ended_by_admin', context.now))) throw new LatchError('session_not_found');
  await recordAudit(trx, context, { action: 'session.end', outcome: 'success', ...byAdmin(actor, session.user_id, { endedSessionId: session.id }) });
  return { userId: session.user_id };
}

export interface Exemption {
  reason: string;
  expiresAt: string | null;
  grantedBy: string | null;
  createdAt: string;
}

/** The user's exemption from the passkey requirement, if one is in force now. */
export async function findExemption(db: Executor, userId: string, now: Date): Promise<Exemption | null> {
  const row = await db
    .selectFrom('passkey_exemptions')
    .selectAll()
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row ? { reason: row.reason, expiresAt: row.expires_at?.toISOString() ?? null, grantedBy: row.granted_by, createdAt: row.created_at.toISOString() } : null;
}

/** Grants (or replaces) a user's exemption from the passkey requirement, with a reason and an optional end. */
export async function grantExemption(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { userId: string; reason: string; expiresAt: Date | null },
): Promise<Exemption> {
  const reason = input.reason.trim();
  if (reason.length < 1 || reason.length > 500) throw new LatchError('validation_failed', 'An exemption needs a reason of 1 to 500 characters.');
  if (input.expiresAt && input.expiresAt.getTime() <= context.now.getTime()) throw new LatchError('validation_failed', 'An exemption must end in the future (or not at all).');
  await lockUser(trx, input.userId);
  const row = await trx
    .insertInto('passkey_exemptions')
    .values({ user_id: input.userId, reason, expires_at: input.expiresAt, granted_by: actor.userId, created_at: context.now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ reason, expires_at: input.expiresAt, granted_by: actor.userId, created_at: context.now }))
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(trx, context, {
    action: 'exemption.grant',
    outcome: 'success',
    ...byAdmin(actor, input.userId, { reason, expiresAt: input.expiresAt?.toISOString() ?? null }),
  });
  return { reason: row.reason, expiresAt: row.expires_at?.toISOString() ?? null, grantedBy: row.granted_by, createdAt: row.created_at.toISOString() };
}

export async function liftExemption(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { userId: string }): Promise<{ lifted: boolean }> {
  await lockUser(trx, input.userId);
  const deleted = await trx.deleteFrom('passkey_exemptions').where('user_id', '=', input.userId).returning('reason').executeTakeFirst();
  if (deleted) await recordAudit(trx, context, { action: 'exemption.lift', outcome: 'success', ...byAdmin(actor, input.userId, { reason: deleted.reason }) });
  return { lifted: deleted !== undefined };
}

async function lockUser(trx: Transaction<Database>, userId: string): Promise<User> {
  const user = await trx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst();
  if (!user) throw new LatchError('user_not_found');
  return user;
}
