import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { signInsByDay } from '../src/admin/adoption.ts';
import { migrateDown, migrateToLatest } from '../src/db/migrate.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';
import { signedUpUser, signInWithPasskey } from './helpers/passkeys.ts';

/**
 * The dashboard's sign-ins per day and method come from a rollup the sign-in keeps
 * (src/audit/sign-ins-per-day.ts), no longer from the audit log. It must say what the audit log
 * says: after real sign-ins of every path (passkey sign-in: the deferred one-statement write;
 * password + TOTP and sign-ups: the others), across a UTC midnight, on every database; without a
 * lost increment under truly parallel sign-ins on PostgreSQL; and the migration's backfill counts
 * the same from the log alone.
 */
const t = await createTestApp();

/** Successful session.create rows per UTC day and method, counted from the audit log. */
async function countedFromAudit(app: TestApp): Promise<Record<string, number>> {
  const rows = await sql<{ day: string; method: string; n: string }>`
    select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day, details->>'method' as method, count(*) as n
    from audit_events where action = 'session.create' and outcome = 'success' group by 1, 2`.execute(app.db);
  return Object.fromEntries(rows.rows.map((row) => [`${row.day} ${row.method}`, Number(row.n)]));
}

/** The rollup, its shards summed, in the same shape. */
async function rollup(app: TestApp): Promise<Record<string, number>> {
  const rows = await sql<{ day: string; method: string; n: string }>`
    select to_char(day, 'YYYY-MM-DD') as day, method, sum(sign_ins) as n from sign_ins_per_day group by 1, 2`.execute(app.db);
  return Object.fromEntries(rows.rows.map((row) => [`${row.day} ${row.method}`, Number(row.n)]));
}

let address = 0;
const client = () => t.client({ clientAddress: `10.20.${Math.floor(++address / 200)}.${(address % 200) + 1}` });

describe('sign-ins per day (the dashboard rollup)', () => {
  it('equals the count from the audit rows after sign-ins of every kind, across a UTC midnight', async () => {
    const passkeyUser = await signedUpUser(t, {}, client());
    const appUser = await signUpWithTotp(t, client());
    for (let i = 0; i < 3; i++) expect((await signInWithPasskey(client(), passkeyUser.authenticator)).response.status).toBe(200);
    expect((await signInWithTotp(t, client(), appUser)).status).toBe(200);
    t.clock.advance(24 * 3600); // the next UTC day
    expect((await signInWithPasskey(client(), passkeyUser.authenticator)).response.status).toBe(200);
    expect((await signInWithTotp(t, client(), appUser)).status).toBe(200);
    expect((await signInWithTotp(t, client(), appUser)).status).toBe(200);

    const expected = await countedFromAudit(t);
    expect(await rollup(t)).toEqual(expected);
    const today = t.clock.now().toISOString().slice(0, 10);
    // 3 passkey sign-ins + the passkey sign-up yesterday, one today; 1 + 2 by password + TOTP (and the TOTP sign-up).
    expect(expected).toMatchObject({ [`${today} passkey`]: 1, [`${today} password_totp`]: 2 });
    const dashboard = await signInsByDay(t.db, t.clock.now());
    expect(dashboard.days.at(-1)).toMatchObject({ day: today, byMethod: { passkey: 1, password_totp: 2 } });
    expect(dashboard.days.at(-2)!.byMethod.passkey).toBe(4);
  });

  it.runIf(Boolean(process.env.TEST_DATABASE_URL))('loses no increment under 40 truly parallel passkey sign-ins over two instances (PostgreSQL)', async () => {
    const other = t.anotherInstance();
    // 40 users, one sign-in each: two parallel uses of one passkey would race on its signature counter.
    const users = await Promise.all(Array.from({ length: 40 }, () => signedUpUser(t, {}, client())));
    const before = await rollup(t);
    // Each sign-in's options first, then every verify at once (each increments a row of the same day and method).
    const runs = await Promise.all(
      users.map(async (user) => {
        const signer = client();
        const started = await signer.post('/api/signin/passkey/options', {});
        return { signer, body: { ceremonyId: started.body.ceremonyId, response: user.authenticator.assert(started.body.options) } };
      }),
    );
    const responses = await Promise.all(runs.map(({ signer, body }, i) => (i % 2 ? signer.via(other) : signer).post('/api/signin/passkey/verify', body)));
    expect(responses.map((response) => response.status)).toEqual(runs.map(() => 200));
    const key = `${t.clock.now().toISOString().slice(0, 10)} passkey`;
    const after = await rollup(t);
    expect(after[key]! - (before[key] ?? 0)).toBe(40);
    expect(after).toEqual(await countedFromAudit(t));
  }, 120_000);

  it("the migration's backfill counts the same from the audit log alone", async () => {
    const expected = await countedFromAudit(t);
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    // Down past the rollup's migration (later ones first), then up again: its backfill runs.
    const undone: string[] = [];
    while (!undone.includes('2026-11-28T01-sign-ins-per-day')) {
      const step = await migrateDown(t.db);
      expect(step.error).toBeUndefined();
      undone.push(...(step.results ?? []).map((result) => result.migrationName));
    }
    await migrateToLatest(t.db);
    expect(await rollup(t)).toEqual(expected);
  });
});
