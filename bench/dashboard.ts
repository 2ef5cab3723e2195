/**
 * `npm run bench:dashboard [-- --users 100000 --audit-rows 10000000 --runs 5 --keep]`: the adoption
 * dashboard at size. Seeds a fresh PostgreSQL database of its own with generate_series (users with
 * passwords, authenticator apps, passkeys — some revoked — backup codes, ten groups, one of them
 * required by a deadline, exemptions) and an audit log of `--audit-rows` rows over a year, about a
 * third of them sign-ins (and the sign-ins-per-day rollup counted from them, as its migration
 * does); then times `adoptionDashboard()` (what GET /api/admin/adoption serves)
 * and each of its parts, and the full users CSV export.
 * The database: BENCH_DATABASE_URL, else DATABASE_URL, else the local server; dropped after
 * (unless --keep, which prints its URL).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { adoptionDashboard, exportUsersPage, passkeyAdoptionSeries, signInsByDay, totpOnlyByGroup, userExportLine, exemptionsInForce } from '../src/admin/adoption.ts';
import { activeUserStatesSql, adoptionStats } from '../src/admin/stats.ts';
import { rebuildSignInsPerDay } from '../src/audit/sign-ins-per-day.ts';
import { connectPostgres, type Db } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: process.env.BENCH_DASHBOARD_USERS ?? '100000' },
    'audit-rows': { type: 'string', default: process.env.BENCH_DASHBOARD_AUDIT_ROWS ?? '10000000' },
    runs: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
});
const USERS = Number(values.users);
const AUDIT_ROWS = Number(values['audit-rows']);
const RUNS = Number(values.runs);
const CHUNK = 1_000_000;

async function step(label: string, work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  console.log(`  ${label.padEnd(58)} ${(ms / 1000).toFixed(1).padStart(7)} s`);
  return ms;
}

async function seed(db: Db, now: Date): Promise<void> {
  const at = now.toISOString();
  console.log(`seeding ${USERS.toLocaleString('en')} users and ${AUDIT_ROWS.toLocaleString('en')} audit rows:`);
  await step('users', () =>
    sql`insert into users (username, display_name, webauthn_user_id, status, created_at, updated_at)
      select 'bench-' || lpad(i::text, 7, '0'), 'Bench User ' || i, md5(i::text), case when i % 97 = 0 then 'disabled' else 'active' end,
        ${at}::timestamptz - interval '400 days', ${at}::timestamptz
      from generate_series(1, ${sql.lit(USERS)}) as i`.execute(db),
  );
  // Numbered users, so the rows below can pick one by arithmetic.
  await sql`create table bench_users as select id, row_number() over (order by username) as n from users`.execute(db);
  await sql`create unique index on bench_users (n)`.execute(db);
  await step('factors: passwords (all), apps (70%), passkeys (45%, a tenth revoked)', async () => {
    await sql`insert into factors (user_id, kind, status, created_at, activated_at, password_hash)
      select id, 'password', 'active', ${at}::timestamptz - interval '400 days', ${at}::timestamptz - interval '400 days', '$argon2id$bench' from bench_users`.execute(db);
    await sql`insert into factors (user_id, kind, status, created_at, activated_at, secret_sealed, key_id, algorithm, digits, period_seconds)
      select id, 'totp', 'active', ${at}::timestamptz - interval '390 days', ${at}::timestamptz - interval '390 days', 'v1.bench', 'k1', 'SHA1', 6, 30
      from bench_users where n % 10 < 7`.execute(db);
    // Passkeys arrive over the last 180 days; every tenth is revoked 5 days after it came.
    await sql`insert into factors (user_id, kind, status, created_at, activated_at, revoked_at, credential_id, public_key, sign_count, backup_eligible, backed_up, user_verified)
      select id, 'passkey', case when n % 41 = 0 then 'revoked' else 'active' end,
        ${at}::timestamptz - ((n * 7919) % 180) * interval '1 day', ${at}::timestamptz - ((n * 7919) % 180) * interval '1 day',
        case when n % 41 = 0 then least(${at}::timestamptz, ${at}::timestamptz - ((n * 7919) % 180) * interval '1 day' + interval '5 days') end,
        'bench-credential-' || n, '\\x01'::bytea, 0, true, true, true
      from bench_users where n % 20 >= 11`.execute(db);
  });
  await step('backup codes (30% of users, 10 codes, 3 used)', async () => {
    await sql`insert into factors (user_id, kind, status, created_at, activated_at)
      select id, 'backup_codes', 'active', ${at}::timestamptz - interval '300 days', ${at}::timestamptz - interval '300 days' from bench_users where n % 10 >= 7`.execute(db);
    await sql`insert into backup_codes (factor_id, code_hash, used_at)
      select f.id, 'h' || c, case when c <= 3 then ${at}::timestamptz - interval '10 days' end
      from factors f cross join generate_series(1, 10) as c where f.kind = 'backup_codes'`.execute(db);
  });
  await step('groups (10, one required by a deadline) and memberships', async () => {
    await sql`insert into groups (name, rollout_mode, passkey_deadline, created_at, updated_at)
      select 'department-' || g, case when g = 1 then 'required' when g <= 4 then 'encouraged' else 'optional' end,
        case when g = 1 then ${at}::timestamptz + interval '21 days' end, ${at}::timestamptz, ${at}::timestamptz
      from generate_series(1, 10) as g`.execute(db);
    await sql`insert into group_members (group_id, user_id, added_at)
      select g.id, u.id, ${at}::timestamptz from bench_users u join groups g on g.name = 'department-' || (1 + u.n % 10)`.execute(db);
    await sql`insert into passkey_exemptions (user_id, reason, expires_at, created_at)
      select id, 'bench exemption ' || n, case when n % 2 = 0 then ${at}::timestamptz + interval '30 days' end, ${at}::timestamptz from bench_users where n % 1000 = 1`.execute(db);
  });
  // A year of audit rows, oldest first as the log grows; a third are sign-ins (half of them by passkey).
  const actions = `array['session.create','session.create','session.create','session.end','step_up','factor.use','session.refresh','notification.sent','session.end']`;
  for (let from = 0; from < AUDIT_ROWS; from += CHUNK) {
    const to = Math.min(AUDIT_ROWS, from + CHUNK);
    await step(`audit rows ${from.toLocaleString('en')}–${to.toLocaleString('en')}`, () =>
      sql`insert into audit_events (occurred_at, actor_user_id, subject_user_id, action, outcome, details)
        select ${at}::timestamptz - interval '365 days' + (i::float8 / ${sql.lit(AUDIT_ROWS)}) * interval '365 days',
          u.id, u.id, (${sql.raw(actions)})[1 + i % 9], 'success',
          case when i % 9 < 3 then jsonb_build_object('method', case when i % 6 < 3 then 'passkey' when i % 6 < 5 then 'password_totp' else 'password_backup_code' end, 'aal', 2)
            else '{}'::jsonb end
        from generate_series(${sql.lit(from)}, ${sql.lit(to - 1)}) as i join bench_users u on u.n = 1 + (i * 31) % ${sql.lit(USERS)}`.execute(db),
    );
  }
  // The rows above bypassed the sign-in, which keeps the rollup the dashboard reads: count it from
  // the log as the migration's backfill does (also timed: what that migration costs at this size).
  await step('sign-ins per day rollup, from the audit log', () => rebuildSignInsPerDay(db));
  await step('vacuum analyze', () => sql`vacuum analyze`.execute(db));
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${label.padEnd(52)} median ${median.toFixed(0).padStart(6)} ms   max ${sorted.at(-1)!.toFixed(0).padStart(6)} ms   (${samples.length} runs)`;
}

async function time(work: () => Promise<unknown>): Promise<number[]> {
  await work(); // warm: the first run reads the pages into the cache
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return samples;
}

async function main() {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `latch_bench_dashboard_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = connectPostgres(url.toString(), { max: 2 });
  const now = new Date();
  try {
    await migrateToLatest(db);
    const seeding = performance.now();
    await seed(db, now);
    console.log(`  seeded in ${((performance.now() - seeding) / 1000).toFixed(0)} s\n`);

    console.log(`dashboard at ${USERS.toLocaleString('en')} users, ${AUDIT_ROWS.toLocaleString('en')} audit rows (PostgreSQL ${url.host}):`);
    console.log(summary('adoptionDashboard (GET /api/admin/adoption)', await time(() => adoptionDashboard(db, now))));
    console.log(summary('  users by factor state (stats.ts)', await time(() => adoptionStats(db))));
    console.log(summary('  sign-ins by method per day, 30 days', await time(() => signInsByDay(db, now))));
    console.log(summary('  users with a passkey per day, 90 days', await time(() => passkeyAdoptionSeries(db, now, 90))));
    console.log(summary('  TOTP-only users and lists, all 11 groups', await time(() => totpOnlyByGroup(db))));
    console.log(summary('  exemptions in force', await time(() => exemptionsInForce(db, now))));
    const exportSamples: number[] = [];
    for (let run = 0; run < 2; run++) {
      const started = performance.now();
      let after: string | null = null;
      let bytes = 0;
      do {
        const page = await exportUsersPage(db, { limit: 1000, after });
        for (const row of page.rows) bytes += userExportLine(row).length;
        after = page.nextAfter;
      } while (after !== null);
      exportSamples.push(performance.now() - started);
      if (run === 0) console.log(`  (users CSV: ${(bytes / 1e6).toFixed(1)} MB)`);
    }
    console.log(summary('users CSV export, every user, pages of 1,000', exportSamples));
    const plan = await sql<{ 'QUERY PLAN': string }>`explain (analyze, buffers)
      ${activeUserStatesSql()} select state, count(*), count(*) filter (where unused_backup) from states group by state`.execute(db);
    console.log('\nthe users-by-factor-state query plan (organization part):');
    for (const row of plan.rows) console.log(`  ${row['QUERY PLAN']}`);
  } finally {
    await db.destroy();
    if (values.keep) console.log(`\nkept: ${url}`);
    else await admin.query(`drop database if exists ${name}`);
    await admin.end();
  }
}

await main();
