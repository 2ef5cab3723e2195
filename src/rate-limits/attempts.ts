import { sql, type Kysely, type Transaction } from 'kysely';
import { addSeconds } from '../clock.ts';
import type { Database } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Attempts counted *before* the guarded work runs, so that however many requests arrive at once,
 * no more than the rule allows ever get to the work (a code check, say). Counting failures after
 * the check, as a plain rate limit does, lets a burst of parallel guesses all pass the "not yet
 * locked" read before any of them is counted.
 *
 * Two shapes of rule share the `rate_limits` table:
 * - a cap: `limit` attempts per window; the attempt that reaches it locks the key for `lockoutSeconds`;
 * - a throttle: `freeAttempts` per window, then each attempt must wait a delay that doubles from
 *   `baseDelaySeconds` up to `maxDelaySeconds`. It slows a guesser without ever locking anyone
 *   out for long: the owner gets their turn as soon as the delay passes.
 */
export type AttemptRule =
  | { kind: 'cap'; limit: number; windowSeconds: number; lockoutSeconds: number }
  | { kind: 'throttle'; freeAttempts: number; windowSeconds: number; baseDelaySeconds: number; maxDelaySeconds: number };

export type AttemptClaim =
  | { allowed: true; count: number; /** this attempt is the first the throttle delays after */ throttleEngaged: boolean }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Counts one attempt against the key in a single upsert. The conditional DO UPDATE takes the row
 * lock, so concurrent claims are serialised by the database and each sees the count the previous
 * one left. A key that is locked (or delayed) refuses without counting.
 */
export async function claimAttempt(db: Executor, key: string, rule: AttemptRule, now: Date): Promise<AttemptClaim> {
  const windowStart = addSeconds(now, -rule.windowSeconds);
  const expired = sql<boolean>`rate_limits.window_started_at <= ${windowStart}`;
  const newCount = sql<number>`(case when ${expired} then 1 else rate_limits.count + 1 end)`;
  const lockAfter = (count: ReturnType<typeof sql<number>>) =>
    rule.kind === 'cap'
      ? sql<Date | null>`case when ${count} >= ${rule.limit} then ${addSeconds(now, rule.lockoutSeconds)}::timestamptz else null end`
      : sql<Date | null>`case when ${count} > ${rule.freeAttempts}
          then ${now}::timestamptz + least(${rule.baseDelaySeconds} * power(2, ${count} - ${rule.freeAttempts} - 1), ${rule.maxDelaySeconds}) * interval '1 second'
          else null end`;
  const row = await db
    .insertInto('rate_limits')
    .values({ key, count: 1, window_started_at: now, locked_until: lockAfter(sql<number>`1`) })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({
          count: newCount,
          window_started_at: sql<Date>`case when ${expired} then ${now}::timestamptz else rate_limits.window_started_at end`,
          locked_until: lockAfter(newCount),
        })
        .where((eb) => eb.or([eb('rate_limits.locked_until', 'is', null), eb('rate_limits.locked_until', '<=', now)])),
    )
    .returning(['count', 'locked_until'])
    .executeTakeFirst();
  if (!row) return { allowed: false, retryAfterSeconds: await secondsUntilUnlocked(db, key, now) };
  const count = Number(row.count);
  if (rule.kind === 'cap' && count > rule.limit) return { allowed: false, retryAfterSeconds: await secondsUntilUnlocked(db, key, now) };
  return { allowed: true, count, throttleEngaged: rule.kind === 'throttle' && count === rule.freeAttempts + 1 };
}

async function secondsUntilUnlocked(db: Executor, key: string, now: Date): Promise<number> {
  const row = await db.selectFrom('rate_limits').select('locked_until').where('key', '=', key).executeTakeFirst();
  const until = row?.locked_until?.getTime() ?? now.getTime();
  return Math.max(1, Math.ceil((until - now.getTime()) / 1000));
}
