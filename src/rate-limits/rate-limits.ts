import { sql, type Kysely, type QueryCreator, type Transaction } from 'kysely';
import { addSeconds } from '../clock.ts';
import { compiledOnceNamed } from '../db/compiled-once.ts';
import type { Database } from '../db/schema.ts';
import { addressBucket } from './address-bucket.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Failure counters in the database, so every instance sees the same count: `limit` failures
 * inside `windowSeconds` lock the key for `lockoutSeconds`.
 */
export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

export interface RateLimitState {
  locked: boolean;
  /** When the lock ends; null when not locked. */
  lockedUntil: Date | null;
  count: number;
}

/** Whether the key is locked now. Read-only: checking does not count as an attempt. */
export async function checkRateLimit(db: Executor, key: string, now: Date): Promise<RateLimitState> {
  const row = await db.selectFrom('rate_limits').selectAll().where('key', '=', key).executeTakeFirst();
  if (!row) return { locked: false, lockedUntil: null, count: 0 };
  const locked = row.locked_until !== null && row.locked_until > now;
  return { locked, lockedUntil: locked ? row.locked_until : null, count: row.count };
}

/**
 * Counts one event against the key in a single upsert (concurrent hits all count) and returns
 * the state after it. A window that has passed starts over at 1.
 */
export async function hitRateLimit(db: Executor, key: string, rule: RateLimitRule, now: Date): Promise<RateLimitState> {
  const windowStart = addSeconds(now, -rule.windowSeconds);
  const lockedUntil = addSeconds(now, rule.lockoutSeconds);
  const row = await db
    .insertInto('rate_limits')
    .values({ key, count: 1, window_started_at: now, locked_until: rule.limit <= 1 ? lockedUntil : null })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        count: sql<number>`case when rate_limits.window_started_at <= ${windowStart} then 1 else rate_limits.count + 1 end`,
        window_started_at: sql<Date>`case when rate_limits.window_started_at <= ${windowStart} then ${now} else rate_limits.window_started_at end`,
        locked_until: sql<Date | null>`case
          when (case when rate_limits.window_started_at <= ${windowStart} then 1 else rate_limits.count + 1 end) >= ${rule.limit}
            then greatest(coalesce(rate_limits.locked_until, ${lockedUntil}), ${lockedUntil})
          else rate_limits.locked_until end`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  const locked = row.locked_until !== null && row.locked_until > now;
  return { locked, lockedUntil: locked ? row.locked_until : null, count: row.count };
}

/** A rate limit a request counts against: the key (see rateLimitKeys) and its rule. */
export interface RateLimitHit {
  key: string;
  rule: RateLimitRule;
}

/** What the hit's upsert returns: nothing when the key was locked (the row is left alone). */
export interface RateLimitHitRow {
  count: number | string;
  locked_until: Date | null;
}

/**
 * The check-and-hit upsert, not yet run: it counts the request only while the key is not locked —
 * a locked key's row is left as it is and no row comes back, so a refusal neither counts nor
 * extends the lock, exactly as a read-then-hit did. Run it alone (`checkAndHitRateLimit`) or as a
 * CTE of the request's first statement (a passkey ceremony's), so the limit costs no round trip.
 */
export function rateLimitUpsert(db: QueryCreator<Database>, { key, now, windowStart, lockedUntil, lockedUntilOnFirstHit, limit }: RateLimitHitValues) {
  const newCount = sql<number>`(case when rate_limits.window_started_at <= ${windowStart} then 1 else rate_limits.count + 1 end)`;
  return db
    .insertInto('rate_limits')
    .values({ key, count: 1, window_started_at: now, locked_until: lockedUntilOnFirstHit })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({
          count: newCount,
          window_started_at: sql<Date>`case when rate_limits.window_started_at <= ${windowStart} then ${now}::timestamptz else rate_limits.window_started_at end`,
          // Only unlocked rows are updated, so a lock that starts here starts now.
          locked_until: sql<Date | null>`case when ${newCount} >= ${limit} then ${lockedUntil}::timestamptz else null end`,
        })
        .where((eb) => eb.or([eb('rate_limits.locked_until', 'is', null), eb('rate_limits.locked_until', '<=', now)])),
    )
    .returning(['count', 'locked_until']);
}

/**
 * What one hit's upsert binds, worked out from the rule and the time here, so that the statements
 * carrying it are compiled once (src/db/compiled-once.ts) and take these as parameters.
 */
export interface RateLimitHitValues {
  key: string;
  now: Date;
  windowStart: Date;
  lockedUntil: Date;
  /** The lock a first hit starts: only under a limit of 1. */
  lockedUntilOnFirstHit: Date | null;
  limit: number;
}

/** Their names, for compiledOnceNamed: a field the interface gains and this misses fails to compile. */
const RATE_LIMIT_HIT_VALUES_BY_NAME: Record<keyof RateLimitHitValues, true> = { key: true, now: true, windowStart: true, lockedUntil: true, lockedUntilOnFirstHit: true, limit: true };
export const RATE_LIMIT_HIT_VALUES = Object.keys(RATE_LIMIT_HIT_VALUES_BY_NAME) as (keyof RateLimitHitValues)[];

export function rateLimitHitValues({ key, rule }: RateLimitHit, now: Date): RateLimitHitValues {
  const lockedUntil = addSeconds(now, rule.lockoutSeconds);
  return { key, now, windowStart: addSeconds(now, -rule.windowSeconds), lockedUntil, lockedUntilOnFirstHit: rule.limit <= 1 ? lockedUntil : null, limit: rule.limit };
}

const checkAndHit = compiledOnceNamed<RateLimitHitValues, RateLimitHitRow>(RATE_LIMIT_HIT_VALUES, (db, values) => rateLimitUpsert(db, values));

/**
 * The verdict on a hit from what its upsert returned. `allowed` is false when the key was locked
 * (no row), or when this hit went past the limit. Only the refusal of a locked key costs a
 * statement (reading when the lock ends).
 */
export async function rateLimitVerdict(
  db: Executor,
  { key, rule }: RateLimitHit,
  row: RateLimitHitRow | null | undefined,
  now: Date,
): Promise<{ allowed: boolean; state: RateLimitState }> {
  if (!row) {
    const current = await checkRateLimit(db, key, now);
    // Unlocked between the two statements (the lock ran out): refuse this one anyway, for a second.
    return { allowed: false, state: current.locked ? current : { locked: true, lockedUntil: addSeconds(now, 1), count: current.count } };
  }
  const lockedUntil = row.locked_until === null ? null : new Date(row.locked_until);
  const locked = lockedUntil !== null && lockedUntil > now;
  const state = { locked, lockedUntil: locked ? lockedUntil : null, count: Number(row.count) };
  return { allowed: state.count <= rule.limit, state };
}

/** Seconds a refused client should wait (the Retry-After of a 429), at least 1. */
export function retryAfterSeconds(state: RateLimitState, now: Date): number {
  return Math.max(1, Math.ceil(((state.lockedUntil ?? now).getTime() - now.getTime()) / 1000));
}

/** Check and hit in one statement (one round trip per request instead of two): see rateLimitUpsert. */
export async function checkAndHitRateLimit(
  db: Executor,
  key: string,
  rule: RateLimitRule,
  now: Date,
): Promise<{ allowed: boolean; state: RateLimitState }> {
  const [row] = await checkAndHit(db, rateLimitHitValues({ key, rule }, now));
  return rateLimitVerdict(db, { key, rule }, row, now);
}

/** A success clears the keys' failures (and any lock on them), in one statement. */
export async function resetRateLimits(db: Executor, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.deleteFrom('rate_limits').where('key', 'in', keys).execute();
}

/** Key builders, so every caller spells the same counter the same way. */
export const rateLimitKeys = {
  secondFactorAccountAddress: (userId: string, address: string | null) => `2fa:account:${userId}:addr:${addressBucket(address)}`,
  secondFactorAccount: (userId: string) => `2fa:account:${userId}`,
  address: (scope: string, address: string | null) => `${scope}:addr:${addressBucket(address)}`,
};

/**
 * The longest window any rule uses (the account-wide second-factor ceiling, 24 h). Rows do not
 * record their rule, so the sweep waits this long: a row whose window started earlier has
 * started over for every rule, i.e. it counts nothing any more. Raise it with any longer rule.
 */
export const LONGEST_RATE_LIMIT_WINDOW_SECONDS = 24 * 60 * 60;

/**
 * Deletes the counters that no longer count: no lock in force (none, or ended) and a window
 * older than the longest any rule uses. Run by the periodic sweep; returns how many went.
 */
export async function deleteExpiredRateLimits(db: Executor, now: Date): Promise<number> {
  const windowsOver = addSeconds(now, -LONGEST_RATE_LIMIT_WINDOW_SECONDS);
  const result = await db
    .deleteFrom('rate_limits')
    .where((eb) => eb.and([eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]), eb('window_started_at', '<=', windowsOver)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
