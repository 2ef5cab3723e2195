import fc from 'fast-check';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../src/db/database.ts';
import type { timestamptzParser } from '../src/db/timestamptz.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * Timestamps from PostgreSQL are parsed by src/db/timestamptz.ts (installed by src/db/database.ts)
 * and by pg's own parser (postgres-date) only for the forms the fast path does not take. A wrong
 * instant here would move every expiry, lockout and audit time: the fast path must give exactly
 * what pg's parser gives, for every form PostgreSQL prints.
 */
const installed = pg.types.getTypeParser(1184, 'text') as ReturnType<typeof timestamptzParser<unknown>>;
const postgresDate = installed.fallback;

/** How PostgreSQL prints a timestamptz in DateStyle ISO: fraction without trailing zeros, offset ±HH or ±HH:MM. */
function printed(instant: number, fractionMicros: number, offsetMinutes: number): string {
  const local = new Date(instant + offsetMinutes * 60_000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const fraction = fractionMicros === 0 ? '' : `.${pad(fractionMicros, 6).replace(/0+$/, '')}`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const absolute = Math.abs(offsetMinutes);
  const zone = `${sign}${pad(Math.floor(absolute / 60))}${absolute % 60 ? `:${pad(absolute % 60)}` : ''}`;
  return `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${zone}`;
}

describe('timestamptz parsing', () => {
  it('is installed over pg\'s parser, which it keeps as the fallback', () => {
    expect(typeof postgresDate).toBe('function');
    expect(installed).not.toBe(postgresDate);
  });

  it('timestamp-parse-mismatch: gives exactly the instant pg\'s parser gives, for any time, fraction and offset PostgreSQL prints', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9998, 11, 31) }).map((ms) => Math.floor(ms / 1000) * 1000),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: -15 * 60, max: 15 * 60 }).map((minutes) => (minutes % 15 === 0 || minutes % 60 === 0 ? minutes : Math.round(minutes / 60) * 60)),
        (second, micros, offset) => {
          const text = printed(second, micros, offset);
          const expected = postgresDate(text) as Date;
          const actual = installed(text) as Date;
          expect(actual).toBeInstanceOf(Date);
          expect(actual.getTime()).toBe(expected.getTime());
          expect(actual.getTime()).toBe(second + Math.floor(micros / 1000));
        },
      ),
      { seed: 20261127, numRuns: 2000 },
    );
  });

  it('leaves the forms it does not take to pg\'s parser', () => {
    for (const text of ['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '1900-01-01 00:00:00+00:17:30', '12345-01-01 00:00:00+00', '2026-11-27T23:04:19Z', '2026-11-27 23:04:19']) {
      const expected = postgresDate(text);
      const actual = installed(text);
      if (expected instanceof Date) expect((actual as Date).getTime()).toEqual(expected.getTime());
      else expect(actual).toEqual(expected);
    }
  });

  describe('from the database, in several time zones', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(() => database.close());

    it('reads back the instants written, whatever the session time zone', async () => {
      const instants = [new Date('2026-11-27T23:04:19.123Z'), new Date('2026-03-29T01:30:00.000Z'), new Date('1999-12-31T23:59:59.999Z'), new Date('2040-06-15T12:00:00.5Z')];
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham', 'America/Los_Angeles']) {
        const read = await database.db.transaction().execute(async (trx) => {
          await sql`select set_config('TimeZone', ${zone}, true)`.execute(trx);
          const rows = await sql<{ at: Date }>`select unnest(${instants.map((instant) => instant.toISOString())}::timestamptz[]) as at`.execute(trx);
          return rows.rows.map((row) => row.at);
        });
        expect(read.map((at) => at.toISOString()), zone).toEqual(instants.map((instant) => instant.toISOString()));
      }
    });
  });
});
