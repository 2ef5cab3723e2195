import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

/**
 * One INSERT for many rows with one array parameter per column (`insert … select * from
 * unnest($1::uuid[], $2::text[], …)`): a 500-user batch is a handful of parameters instead of
 * thousands, which the query builder compiles and PostgreSQL parses in a fraction of the time.
 * `columns` names each column's PostgreSQL type. Returns the `returning` columns of the rows
 * inserted (conflicting rows are skipped when `onConflictDoNothing` names the conflict target).
 */
export async function insertRows<R = Record<string, unknown>>(
  trx: Transaction<Database>,
  table: keyof Database & string,
  columns: Record<string, string>,
  rows: Record<string, unknown>[],
  options: { onConflictDoNothing?: string[]; returning?: string[] } = {},
): Promise<R[]> {
  if (rows.length === 0) return [];
  const names = Object.keys(columns);
  const arrays = names.map((name) => sql`${rows.map((row) => row[name] ?? null)}::${sql.raw(columns[name]!)}[]`);
  const conflict = options.onConflictDoNothing ? sql` on conflict (${sql.join(options.onConflictDoNothing.map((name) => sql.ref(name)))}) do nothing` : sql``;
  const returning = options.returning ? sql` returning ${sql.join(options.returning.map((name) => sql.ref(name)))}` : sql``;
  const result = await sql<R>`insert into ${sql.table(table)} (${sql.join(names.map((name) => sql.ref(name)))}) select * from unnest(${sql.join(arrays)})${conflict}${returning}`.execute(trx);
  return result.rows;
}
