import { randomInt } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Sign-ins per UTC day and method: a rollup of the audit log's successful `session.create` rows
 * (migration 2026-11-28T01-sign-ins-per-day), so the adoption dashboard reads a few hundred rows
 * instead of every sign-in of the last 30 days.
 *
 * Kept current by the sign-in: completeSignIn sends the increment with its audit row in the same
 * statement (src/audit/deferred-writes.ts), so the two commit together and the sign-in pays no
 * extra round trip. The day is the one of the audit row's `occurred_at` (the request's now).
 */

/**
 * Rows per day and method. A sign-in increments one at random: parallel sign-ins (every sign-in
 * of the day by passkey lands on the same day and method) would otherwise queue on one row lock
 * until each one's commit. The reader sums the shards.
 */
export const SIGN_IN_ROLLUP_SHARDS = 8;

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The INSERT … ON CONFLICT that counts one sign-in, for the caller to send with its other writes. */
export function signInsPerDayIncrement(db: Executor, at: Date, method: string) {
  return db
    .insertInto('sign_ins_per_day')
    .values({ day: utcDay(at), method, shard: randomInt(SIGN_IN_ROLLUP_SHARDS), sign_ins: 1 })
    .onConflict((oc) => oc.columns(['day', 'method', 'shard']).doUpdateSet({ sign_ins: sql`sign_ins_per_day.sign_ins + 1` }));
}

/** Sign-ins per day and method from `fromDay` to `toDay` (YYYY-MM-DD, both included), shards summed. */
export async function signInsPerDayBetween(db: Executor, fromDay: string, toDay: string): Promise<Array<{ day: string; method: string; n: number }>> {
  const rows = await db
    .selectFrom('sign_ins_per_day')
    .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'method', sql<string>`sum(sign_ins)::bigint`.as('n')])
    .where('day', '>=', sql<string>`${fromDay}::date`)
    .where('day', '<=', sql<string>`${toDay}::date`)
    .groupBy(['day', 'method'])
    .execute();
  return rows.map((row) => ({ day: row.day, method: row.method, n: Number(row.n) }));
}

/**
 * Counts the rollup again from the audit log (what the migration's backfill does). For data
 * written straight into audit_events, bypassing the sign-in (the seeded tests and the bench);
 * the server never needs it.
 */
export async function rebuildSignInsPerDay(db: Executor): Promise<void> {
  await sql`delete from sign_ins_per_day`.execute(db);
  await sql`
    insert into sign_ins_per_day (day, method, shard, sign_ins)
    select (occurred_at at time zone 'UTC')::date, coalesce(details->>'method', 'unknown'), 0, count(*)
    from audit_events
    where action = 'session.create' and outcome = 'success'
    group by 1, 2`.execute(db);
}
