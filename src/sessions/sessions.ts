import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { addSeconds } from '../clock.ts';
import { keyedHash, randomToken, type Keyring } from '../crypto/keyring.ts';
import { compiledOnce } from '../db/compiled-once.ts';
import type { Database, Session, SessionsTable, User } from '../db/schema.ts';
import type { RequestContext } from '../audit/audit.ts';

type Executor = Kysely<Database> | Transaction<Database>;

const SESSION_TOKEN_PURPOSE = 'session';

/** How a session was made; the assurance it claims follows from these and nothing else. */
export interface SessionProof {
  /** How the user proved themselves: 'passkey' (+ 'uv' when the authenticator verified the user), 'pwd', 'otp', 'backup_code', 'remembered_device'. */
  amr: string[];
  factorIds: string[];
  aal: 1 | 2 | 3;
  phishingResistant: boolean;
  recovery?: boolean;
  rememberedDeviceId?: string | null;
}

/** What the passkey rollout decided at sign-in (src/policy/rollout.ts), kept on the session so a reload shows it. */
export interface SessionRolloutMarks {
  restrictedReason: string | null;
  passkeyInvitedAt: Date | null;
  rolloutDeadline: Date | null;
}

export interface SessionLifetimes {
  idleSeconds: number;
  absoluteSeconds: number;
}

export interface CreatedSession {
  session: Session;
  /** The bearer token for the cookie. Shown once; only its keyed hash is stored. */
  token: string;
}

export function hashSessionToken(keyring: Keyring, token: string): string {
  return keyedHash(keyring, SESSION_TOKEN_PURPOSE, token);
}

export async function createSession(
  db: Executor,
  keyring: Keyring,
  userId: string,
  proof: SessionProof,
  lifetimes: SessionLifetimes,
  context: RequestContext,
  rollout?: SessionRolloutMarks,
): Promise<CreatedSession> {
  const prepared = prepareSession(db, keyring, userId, proof, lifetimes, context, rollout);
  const session = await prepared.insert.returningAll().executeTakeFirstOrThrow();
  return { session, token: prepared.token };
}

/**
 * A new session's row, its token and the INSERT that stores it, without running it: the id is
 * made here (not by the database), so a caller that sends the INSERT together with other writes
 * (src/audit/deferred-writes.ts) already knows the row it will hold.
 */
export function prepareSession(
  db: Executor,
  keyring: Keyring,
  userId: string,
  proof: SessionProof,
  lifetimes: SessionLifetimes,
  context: RequestContext,
  rollout?: SessionRolloutMarks,
): CreatedSession & { insert: ReturnType<typeof insertSession> } {
  const token = randomToken();
  const now = context.now;
  const absoluteExpiresAt = addSeconds(now, lifetimes.absoluteSeconds);
  const session: Session = {
    id: randomUUID(),
    token_hash: hashSessionToken(keyring, token),
    user_id: userId,
    aal: proof.aal,
    amr: proof.amr,
    factor_ids: proof.factorIds,
    phishing_resistant: proof.phishingResistant,
    recovery: proof.recovery ?? false,
    remembered_device_id: proof.rememberedDeviceId ?? null,
    created_at: now,
    last_seen_at: now,
    idle_expires_at: minDate(addSeconds(now, lifetimes.idleSeconds), absoluteExpiresAt),
    absolute_expires_at: absoluteExpiresAt,
    last_verified_at: now,
    stepped_up_at: null,
    passkey_verified_at: proof.phishingResistant ? now : null,
    client_address: context.clientAddress,
    user_agent: context.userAgent,
    revoked_at: null,
    revoked_reason: null,
    restricted_reason: rollout?.restrictedReason ?? null,
    passkey_invited_at: rollout?.passkeyInvitedAt ?? null,
    rollout_deadline: rollout?.rolloutDeadline ?? null,
  };
  return { session, token, insert: insertSession(db, session) };
}

function insertSession(db: Executor, session: Session) {
  return db.insertInto('sessions').values(session);
}

/**
 * Last-seen is written at most this often, so reading a session is not a write per request; but
 * at least twice per idle timeout, or a session with a short idle timeout would never slide.
 */
const LAST_SEEN_WRITE_INTERVAL_SECONDS = 60;
export function lastSeenWriteIntervalSeconds(idleSeconds: number): number {
  return Math.min(LAST_SEEN_WRITE_INTERVAL_SECONDS, Math.floor(idleSeconds / 2));
}

export interface ActiveSession {
  session: Session;
  user: User;
}

/**
 * Every column of a session, named: the session check's statement is prepared once per connection
 * (src/db/prepared-statements.ts), and a prepared `sessions.*` would fail on every running
 * instance once a migration added a column. A new column of the table fails to compile here.
 */
const SESSION_COLUMNS_BY_NAME: Record<keyof SessionsTable, true> = {
  id: true,
  token_hash: true,
  user_id: true,
  aal: true,
  amr: true,
  factor_ids: true,
  phishing_resistant: true,
  recovery: true,
  remembered_device_id: true,
  created_at: true,
  last_seen_at: true,
  idle_expires_at: true,
  absolute_expires_at: true,
  last_verified_at: true,
  stepped_up_at: true,
  passkey_verified_at: true,
  client_address: true,
  user_agent: true,
  revoked_at: true,
  revoked_reason: true,
  restricted_reason: true,
  passkey_invited_at: true,
  rollout_deadline: true,
};
const SESSION_COLUMNS = Object.keys(SESSION_COLUMNS_BY_NAME).map((column) => `sessions.${column}`) as `sessions.${keyof SessionsTable}`[];

const USER_COLUMNS = ['users.username', 'users.display_name', 'users.webauthn_user_id', 'users.status as user_status', 'users.created_at as user_created_at', 'users.updated_at as user_updated_at', 'users.disabled_at', 'users.is_admin', 'users.email', 'users.email_verified_at', 'users.recovery_pending'] as const;

function liveSessionQuery(db: Executor, tokenHash: string, now: Date) {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(SESSION_COLUMNS)
    .select(USER_COLUMNS)
    .where('sessions.token_hash', '=', tokenHash)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.idle_expires_at', '>', now)
    .where('sessions.absolute_expires_at', '>', now);
}

/** The live session a token hash names, with its user's columns: the session check's one statement, compiled once. */
const selectLiveSession = compiledOnce(2, liveSessionQuery);

/** The session check's statement for one token hash and time, and how many columns it returns (bench/session-breakdown.ts takes it apart). */
export function sessionCheckStatement(db: Executor, tokenHash: string, now: Date): { sql: string; parameters: readonly unknown[]; columns: number } {
  const { sql, parameters } = liveSessionQuery(db, tokenHash, now).compile();
  return { sql, parameters, columns: SESSION_COLUMNS.length + USER_COLUMNS.length };
}

/**
 * Finds the live session for a token: not revoked, inside both its idle and absolute lifetime,
 * and belonging to an active user. Slides the idle expiry forward (never past the absolute one).
 */
export async function lookUpSession(
  db: Executor,
  keyring: Keyring,
  token: string,
  lifetimes: SessionLifetimes,
  now: Date,
): Promise<ActiveSession | null> {
  const [row] = await selectLiveSession(db, hashSessionToken(keyring, token), now);
  if (!row || row.user_status !== 'active') return null;

  const { username, display_name, webauthn_user_id, user_status, user_created_at, user_updated_at, disabled_at, is_admin, email, email_verified_at, recovery_pending, ...sessionColumns } = row;
  let session: Session = sessionColumns;
  if (now.getTime() - session.last_seen_at.getTime() >= lastSeenWriteIntervalSeconds(lifetimes.idleSeconds) * 1000) {
    const idleExpiresAt = minDate(addSeconds(now, lifetimes.idleSeconds), session.absolute_expires_at);
    await db
      .updateTable('sessions')
      .set({ last_seen_at: now, idle_expires_at: idleExpiresAt })
      .where('id', '=', session.id)
      .execute();
    session = { ...session, last_seen_at: now, idle_expires_at: idleExpiresAt };
  }
  return {
    session,
    user: {
      id: session.user_id,
      username,
      display_name,
      webauthn_user_id,
      status: user_status,
      created_at: user_created_at,
      updated_at: user_updated_at,
      disabled_at,
      is_admin,
      email,
      email_verified_at,
      recovery_pending,
    },
  };
}

/**
 * Issues a new token for the same session (after a step-up, or when more factors join it), so a
 * token seen before the privilege change is worthless after it. Optionally records new proof.
 */
export async function rotateSession(
  db: Executor,
  keyring: Keyring,
  sessionId: string,
  now: Date,
  /**
   * A step-up: a factor was proven now. It joins `amr` and `factor_ids`: the session's elevated
   * rights now rest on that factor, so revoking it must end the session too.
   */
  proof?: { stepUp: true; factorId: string; amr: string[]; aal?: 1 | 2 | 3; phishingResistant?: boolean },
): Promise<CreatedSession | null> {
  const token = randomToken();
  const session = await db
    .updateTable('sessions')
    .set((eb) => ({
      token_hash: hashSessionToken(keyring, token),
      ...(proof
        ? {
            last_verified_at: now,
            stepped_up_at: now,
            amr: sql<string[]>`(select array_agg(distinct m order by m) from unnest(${eb.ref('amr')} || ${sql.val(proof.amr)}::text[]) as m)`,
            factor_ids: sql<string[]>`(select array_agg(distinct f) from unnest(${eb.ref('factor_ids')} || ${sql.val([proof.factorId])}::uuid[]) as f)`,
            ...(proof.aal ? { aal: sql<number>`greatest(${eb.ref('aal')}, ${proof.aal})` } : {}),
            ...(proof.phishingResistant ? { phishing_resistant: true, passkey_verified_at: now } : {}),
          }
        : {}),
    }))
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return session ? { session, token } : null;
}

export type SessionRevocationReason =
  | 'signed_out'
  | 'ended_by_user'
  | 'ended_by_admin'
  | 'factor_revoked'
  | 'password_changed'
  | 'account_disabled'
  | 'recovery'
  | 'device_forgotten'
  | 'backup_codes_regenerated'
  /** A new authenticator app took the place of the one that signed the session in. */
  | 'factor_replaced';

export async function revokeSession(db: Executor, sessionId: string, reason: SessionRevocationReason, now: Date, userId?: string): Promise<boolean> {
  let query = sessionRevocation(db, sessionId, reason, now);
  if (userId) query = query.where('user_id', '=', userId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** The UPDATE revokeSession runs, for a caller that sends it with other writes (src/audit/deferred-writes.ts). */
export function sessionRevocation(db: Executor, sessionId: string, reason: SessionRevocationReason, now: Date) {
  return db.updateTable('sessions').set({ revoked_at: now, revoked_reason: reason }).where('id', '=', sessionId).where('revoked_at', 'is', null);
}

/** Ends every live session of the user (but `exceptSessionId`, when given); returns their ids. */
export async function revokeAllSessions(db: Executor, userId: string, reason: SessionRevocationReason, now: Date, exceptSessionId?: string): Promise<string[]> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptSessionId) query = query.where('id', '<>', exceptSessionId);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

export function revokeOtherSessions(db: Executor, userId: string, keepSessionId: string, reason: SessionRevocationReason, now: Date): Promise<string[]> {
  return revokeAllSessions(db, userId, reason, now, keepSessionId);
}

/**
 * Ends the sessions that the factor helped establish (or step up): they rest on a proof now
 * withdrawn. Looked for among its owner's live sessions (sessions_user_id_idx): an index on
 * factor_ids would cost every sign-in and step-up a GIN insertion for this rare question.
 */
export async function revokeSessionsEstablishedWith(
  db: Executor,
  factor: { id: string; user_id: string },
  reason: SessionRevocationReason,
  now: Date,
  keepSessionId: string | null = null,
): Promise<string[]> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', factor.user_id)
    .where('revoked_at', 'is', null)
    .where(sql<boolean>`factor_ids @> ${sql.val([factor.id])}::uuid[]`);
  if (keepSessionId) query = query.where('id', '<>', keepSessionId);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

/** Ends the sessions a remembered browser signed in: the device stood in for a second factor that is now withdrawn. */
export async function revokeSessionsMadeThroughDevices(
  db: Executor,
  deviceIds: readonly string[],
  reason: SessionRevocationReason,
  now: Date,
  keepSessionId: string | null = null,
): Promise<string[]> {
  if (deviceIds.length === 0) return [];
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('remembered_device_id', 'in', [...deviceIds])
    .where('revoked_at', 'is', null);
  if (keepSessionId) query = query.where('id', '<>', keepSessionId);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

export async function listLiveSessions(db: Executor, userId: string, now: Date): Promise<Session[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .orderBy('last_seen_at', 'desc')
    .execute();
}

function minDate(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b;
}
