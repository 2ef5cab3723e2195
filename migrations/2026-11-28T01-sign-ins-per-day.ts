import { sql, type Kysely } from 'kysely';

/**
 * The adoption dashboard at size: sign-ins per UTC day and method, kept current by the sign-in
 * itself (src/audit/sign-ins-per-day.ts, sent with the sign-in's other writes in one statement),
 * so the dashboard's "sign-ins by method per day" reads at most 30 days × methods × shards rows
 * instead of every sign-in row of the window in the audit log.
 *
 * `shard`: each sign-in increments one of a few rows of its day and method, picked at random, so
 * parallel sign-ins rarely wait on the same row lock until their commit; the reader sums them.
 *
 * Backfilled here from the audit log (shard 0), counting exactly what the sign-in increments:
 * successful `session.create` rows by their details.method.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table sign_ins_per_day (
      day date not null,
      method text not null,
      shard smallint not null check (shard >= 0),
      sign_ins bigint not null check (sign_ins >= 0),
      primary key (day, method, shard)
    )`.execute(db);
  await sql`
    insert into sign_ins_per_day (day, method, shard, sign_ins)
    select (occurred_at at time zone 'UTC')::date, coalesce(details->>'method', 'unknown'), 0, count(*)
    from audit_events
    where action = 'session.create' and outcome = 'success'
    group by 1, 2`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table sign_ins_per_day`.execute(db);
}
