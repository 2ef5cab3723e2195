/**
 * `npm run bench`: Latch under load on a real port, beside the reference ceiling, in one run.
 *
 * For PostgreSQL (DATABASE_URL, or a database it creates on 127.0.0.1:5432) and for the embedded
 * database, it seeds users straight into the database, starts Latch as a child process (so its
 * CPU and memory can be read from /proc), starts the reference server from ../shared/perf-reference
 * when it is there, and runs each scenario as a closed loop, Latch and the reference taking turns
 * (interleaved rounds), so both meet the same machine load. Every figure is also printed as a
 * ratio to the reference measured in the same run: absolute figures move with whatever else the
 * machine runs. Then the in-process figures it printed before (the password step's equal time).
 *
 * Environment: BENCH_SECONDS (10 per round), BENCH_WARMUP (2), BENCH_ROUNDS (3), BENCH_USERS (1000),
 * BENCH_CONCURRENCY (50), BENCH_TOTP_USERS (3000), BENCH_SCENARIOS (passkey,session,stepup,totp),
 * BENCH_DATABASES (postgres,embedded), BENCH_SCALE=1 (also 1,000,000 users and 10,000,000 audit rows),
 * BENCH_IN_PROCESS=0 (skip the in-process figures), BENCH_PROFILE=1 (Latch and the reference run with
 * --cpu-prof into bench/.profiles), BENCH_NODE_ARGS (more node flags for Latch, e.g. V8 heap sizes),
 * BENCH_JSON=path (write the figures as JSON too), BENCH_WORKERS (1: processes per server, Latch's
 * WORKERS and the reference's alike; CPU and memory are summed over each server's processes).
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { generateKeyring, type Keyring } from '../src/crypto/keyring.ts';
import { connectPostgres, openEmbedded, type Db } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { hashPassword, verifyPassword } from '../src/factors/password.ts';
import { HttpClient } from './client.ts';
import { benchImport } from './import.ts';
import { runInProcess } from './in-process.ts';
import { closedLoop, median, type LoadResult, type VirtualUser } from './load.ts';
import { CpuMeter, processTree, rssMb, threadCpuMs } from './proc.ts';
import { passkeyUsers, passwordTotpUsers, sessionCheckUsers, signedInJars, stepUpUsers, LATCH_ORIGIN } from './scenarios.ts';
import { BENCH_PASSWORD, seedPasskeyUsers, seedReference, seedScale, seedTotpUsers, type BenchUser, type TotpUser } from './seed.ts';
import { prepareReference, referenceSource, startLatch, startReference, type ServerProcess } from './servers.ts';

const env = process.env;
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const USERS = Number(env.BENCH_USERS ?? 1000);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 50);
const TOTP_USERS = Number(env.BENCH_TOTP_USERS ?? 3000);
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'passkey,session,stepup,totp').split(',');
const DATABASES = (env.BENCH_DATABASES ?? 'postgres,embedded').split(',');
const SCALE = env.BENCH_SCALE === '1';
const SCALE_USERS = Number(env.BENCH_SCALE_USERS ?? 1_000_000);
const SCALE_AUDIT_ROWS = Number(env.BENCH_SCALE_AUDIT_ROWS ?? 10_000_000);
const ADMIN_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PROFILE_DIR = resolve('bench/.profiles');
/** The reference has no SIGTERM handler, and a process killed by a signal writes no profile: exit normally on it. */
const REFERENCE_PROFILE_ARGS = ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=reference.${Date.now()}.cpuprofile`, '--import', "data:text/javascript,process.on('SIGTERM',()=>process.exit(0))"];

interface Figures {
  system: 'latch' | 'reference';
  scenario: string;
  database: string;
  rounds: LoadResult[];
  serverCpuMsPerOp: number[];
  postgresCpuMsPerOp: number[];
  clientCpuMsPerOp: number[];
  mainThreadCpuMsPerOp: number[];
}

const results: { database: string; scenario: string; latch: Summary; reference: Summary | null }[] = [];
const memory: Record<string, number | null> = {};

interface Summary {
  opsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  partP99: number | null;
  errors: number;
  serverCpuMsPerOp: number;
  postgresCpuMsPerOp: number;
  /** The load generator's own CPU (this process: signing, HTTP client), which shares the machine. */
  clientCpuMsPerOp: number;
  /** The server's JavaScript thread alone (a single process): the rest of its CPU is libuv's pool and V8's helpers. */
  mainThreadCpuMsPerOp: number;
  sampleErrors: string[];
}

function summarize(figures: Figures): Summary {
  return {
    opsPerSecond: median(figures.rounds.map((r) => r.opsPerSecond)),
    p50: median(figures.rounds.map((r) => r.p50)),
    p90: median(figures.rounds.map((r) => r.p90)),
    p99: median(figures.rounds.map((r) => r.p99)),
    partP99: figures.rounds.some((r) => r.partP99 !== null) ? median(figures.rounds.map((r) => r.partP99 ?? Number.NaN)) : null,
    errors: figures.rounds.reduce((sum, r) => sum + r.errors, 0),
    serverCpuMsPerOp: median(figures.serverCpuMsPerOp),
    postgresCpuMsPerOp: median(figures.postgresCpuMsPerOp),
    clientCpuMsPerOp: median(figures.clientCpuMsPerOp),
    mainThreadCpuMsPerOp: median(figures.mainThreadCpuMsPerOp),
    sampleErrors: figures.rounds.flatMap((r) => r.sampleErrors).slice(0, 3),
  };
}

/** The PostgreSQL backends serving one database (the bench's own admin connection is elsewhere). */
async function backendsOf(admin: pg.Client, database: string | null): Promise<number[]> {
  if (!database) return [];
  const rows = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  return rows.rows.map((row) => row.pid);
}

async function measure(admin: pg.Client, server: ServerProcess, database: string | null, users: VirtualUser[]) {
  // The meters read /proc exactly at the edges of the measured window: warm-up and drain are outside.
  let serverCpu = new CpuMeter([]);
  let postgresCpu = new CpuMeter([]);
  let serverMs = 0;
  let postgresMs = Number.NaN;
  let clientCpu = process.cpuUsage();
  let clientMs = 0;
  let threadsAtStart = new Map<number, number>();
  let mainThreadMs = Number.NaN;
  const result = await closedLoop(users, {
    warmupSeconds: WARMUP,
    seconds: SECONDS,
    onStart: async () => {
      const backends = await backendsOf(admin, database);
      serverCpu = new CpuMeter(processTree(server.pid));
      postgresCpu = new CpuMeter(backends);
      clientCpu = process.cpuUsage();
      threadsAtStart = threadCpuMs(server.pid);
    },
    onEnd: async () => {
      const client = process.cpuUsage(clientCpu);
      clientMs = (client.user + client.system) / 1000;
      serverMs = serverCpu.elapsed(processTree(server.pid));
      mainThreadMs = (threadCpuMs(server.pid).get(server.pid) ?? Number.NaN) - (threadsAtStart.get(server.pid) ?? Number.NaN);
      if (database) postgresMs = postgresCpu.elapsed(await backendsOf(admin, database));
    },
  });
  const ops = Math.max(1, result.ops);
  return { result, serverCpuMsPerOp: serverMs / ops, postgresCpuMsPerOp: postgresMs / ops, clientCpuMsPerOp: clientMs / ops, mainThreadCpuMsPerOp: mainThreadMs / ops };
}

function fmt(value: number | null, digits = 1): string {
  return value === null || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

function printTable(database: string) {
  console.log(`\n${database}: ${CONCURRENCY} virtual users, closed loop, ${ROUNDS} interleaved round(s) of ${SECONDS} s (medians)`);
  console.log(
    ['scenario'.padEnd(28), 'system'.padEnd(10), 'ops/s'.padStart(7), 'p50'.padStart(7), 'p90'.padStart(7), 'p99'.padStart(7), 'part p99'.padStart(9), 'errors'.padStart(7), 'srv ms/op'.padStart(10), 'pg ms/op'.padStart(9), 'client ms/op'.padStart(13), 'ratio'.padStart(6)].join(' '),
  );
  for (const row of results.filter((r) => r.database === database)) {
    const line = (system: string, s: Summary, ratio: string) =>
      console.log(
        [row.scenario.padEnd(28), system.padEnd(10), fmt(s.opsPerSecond, 0).padStart(7), fmt(s.p50).padStart(7), fmt(s.p90).padStart(7), fmt(s.p99).padStart(7), fmt(s.partP99).padStart(9), String(s.errors).padStart(7), fmt(s.serverCpuMsPerOp, 2).padStart(10), fmt(s.postgresCpuMsPerOp, 2).padStart(9), fmt(s.clientCpuMsPerOp, 2).padStart(13), ratio.padStart(6)].join(' '),
      );
    const ratio = row.reference ? (row.latch.opsPerSecond / row.reference.opsPerSecond).toFixed(2) : '—';
    line('latch', row.latch, ratio);
    if (row.reference) line('reference', row.reference, '1.00');
    for (const error of [...row.latch.sampleErrors, ...(row.reference?.sampleErrors ?? [])]) console.log(`    error: ${error}`);
  }
}

async function runScenario(
  admin: pg.Client,
  label: string,
  scenario: string,
  latch: { server: ServerProcess; database: string | null; users: () => VirtualUser[] },
  reference: { server: ServerProcess; database: string; users: () => VirtualUser[] } | null,
) {
  const latchFigures: Figures = { system: 'latch', scenario, database: label, rounds: [], serverCpuMsPerOp: [], postgresCpuMsPerOp: [], clientCpuMsPerOp: [], mainThreadCpuMsPerOp: [] };
  const referenceFigures: Figures = { system: 'reference', scenario, database: label, rounds: [], serverCpuMsPerOp: [], postgresCpuMsPerOp: [], clientCpuMsPerOp: [], mainThreadCpuMsPerOp: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved: the reference, then Latch, in every round.
    if (reference) {
      const m = await measure(admin, reference.server, reference.database, reference.users());
      referenceFigures.rounds.push(m.result);
      referenceFigures.serverCpuMsPerOp.push(m.serverCpuMsPerOp);
      referenceFigures.postgresCpuMsPerOp.push(m.postgresCpuMsPerOp);
      referenceFigures.clientCpuMsPerOp.push(m.clientCpuMsPerOp);
      referenceFigures.mainThreadCpuMsPerOp.push(m.mainThreadCpuMsPerOp);
    }
    const m = await measure(admin, latch.server, latch.database, latch.users());
    latchFigures.rounds.push(m.result);
    latchFigures.serverCpuMsPerOp.push(m.serverCpuMsPerOp);
    latchFigures.postgresCpuMsPerOp.push(m.postgresCpuMsPerOp);
    latchFigures.clientCpuMsPerOp.push(m.clientCpuMsPerOp);
    latchFigures.mainThreadCpuMsPerOp.push(m.mainThreadCpuMsPerOp);
    process.stdout.write(`  ${label} / ${scenario}: round ${round + 1}/${ROUNDS} done\n`);
  }
  results.push({ database: label, scenario, latch: summarize(latchFigures), reference: reference ? summarize(referenceFigures) : null });
}

async function createDatabase(admin: pg.Client, name: string): Promise<string> {
  await admin.query(`drop database if exists ${name}`);
  await admin.query(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function seedLatch(db: Db, keyring: Keyring, passwordHash: string) {
  await migrateToLatest(db);
  const users = await seedPasskeyUsers(db, USERS, 'bench');
  const totpUsers = SCENARIOS.includes('totp') ? await seedTotpUsers(db, keyring, TOTP_USERS, 'bench-totp', passwordHash) : [];
  return { users, totpUsers };
}

async function benchTarget(
  admin: pg.Client,
  label: string,
  latchTarget: { databaseUrl: string | null; dataDir: string | null; database: string | null },
  keyring: Keyring,
  seeded: { users: BenchUser[]; totpUsers: TotpUser[] },
  reference: { server: ServerProcess; database: string; users: BenchUser[] } | null,
  afterLoad: (server: ServerProcess) => Promise<void> = async () => {},
) {
  const nodeArgs = [...(env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...(env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  if (nodeArgs.length) mkdirSync(PROFILE_DIR, { recursive: true });
  const server = await startLatch({ ...latchTarget, keyring, origin: LATCH_ORIGIN, nodeArgs });
  const client = new HttpClient(server.port, CONCURRENCY * 2);
  const referenceClient = reference ? new HttpClient(reference.server.port, CONCURRENCY * 2) : null;
  try {
    const { users, totpUsers } = seeded;
    if (SCENARIOS.includes('passkey')) {
      await runScenario(
        admin,
        label,
        `passkey sign-in (${users.length} users)`,
        { server, database: latchTarget.database, users: () => passkeyUsers(client, users, CONCURRENCY, 'latch') },
        reference && referenceClient ? { server: reference.server, database: reference.database, users: () => passkeyUsers(referenceClient, reference.users, CONCURRENCY, 'reference') } : null,
      );
    }
    // One signed-in browser per virtual user: the first user of each slice checks its session, the second steps up.
    const perUser = Math.max(2, Math.floor(users.length / CONCURRENCY));
    const sessionUsers = Array.from({ length: CONCURRENCY }, (_, k) => users[k * perUser]!);
    const stepUpPeople = Array.from({ length: CONCURRENCY }, (_, k) => users[k * perUser + 1]!);
    if (SCENARIOS.includes('session')) {
      const jars = await signedInJars(client, sessionUsers, 'latch');
      const referenceJars = reference && referenceClient ? await signedInJars(referenceClient, sessionUsers.map((u) => reference.users.find((r) => r.username === u.username)!), 'reference') : null;
      await runScenario(
        admin,
        label,
        'session check',
        { server, database: latchTarget.database, users: () => sessionCheckUsers(client, jars, 'latch') },
        reference && referenceClient && referenceJars ? { server: reference.server, database: reference.database, users: () => sessionCheckUsers(referenceClient, referenceJars, 'reference') } : null,
      );
    }
    if (SCENARIOS.includes('stepup')) {
      const jars = await signedInJars(client, stepUpPeople, 'latch');
      await runScenario(admin, label, 'passkey step-up', { server, database: latchTarget.database, users: () => stepUpUsers(client, stepUpPeople, jars) }, null);
    }
    if (SCENARIOS.includes('totp') && totpUsers.length > 0) {
      await runScenario(admin, label, 'password + TOTP sign-in', { server, database: latchTarget.database, users: () => passwordTotpUsers(client, totpUsers, CONCURRENCY) }, null);
    }
    memory[label] = processTree(server.pid).reduce((total, pid) => total + (rssMb(pid) ?? 0), 0);
    await afterLoad(server);
  } finally {
    client.close();
    referenceClient?.close();
    await server.stop();
  }
}

async function main() {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const stamp = `${Date.now().toString(36)}_${process.pid}`;
  const keyring = generateKeyring();
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const cleanup: (() => Promise<void> | void)[] = [];

  try {
    // The reference, when it is installed beside this repository.
    let reference: { server: ServerProcess; database: string; users: BenchUser[] } | null = null;
    const source = referenceSource();
    let referenceClient: pg.Client | null = null;
    if (!source) {
      console.log('(the reference ../shared/perf-reference is absent: Latch-only figures, no ratios)');
    }

    const postgresName = `latch_bench_${stamp}`;
    let postgres: { url: string; db: Db; seeded: Awaited<ReturnType<typeof seedLatch>> } | null = null;
    if (DATABASES.includes('postgres')) {
      const url = await createDatabase(admin, postgresName);
      cleanup.push(() => admin.query(`drop database if exists ${postgresName} with (force)`).then(() => undefined));
      const db = connectPostgres(url, { max: 4 });
      postgres = { url, db, seeded: await seedLatch(db, keyring, passwordHash) };
      await db.destroy();
    }

    if (source) {
      const directory = prepareReference(source);
      const referenceName = `latch_bench_ref_${stamp}`;
      const url = await createDatabase(admin, referenceName);
      cleanup.push(() => admin.query(`drop database if exists ${referenceName} with (force)`).then(() => undefined));
      // Profiled beside Latch, so the two profiles can be compared (bench/profile-top.ts).
      if (env.BENCH_PROFILE === '1') mkdirSync(PROFILE_DIR, { recursive: true });
      const server = await startReference(directory, url, env.BENCH_PROFILE === '1' ? REFERENCE_PROFILE_ARGS : []);
      cleanup.push(() => server.stop());
      referenceClient = new pg.Client({ connectionString: url });
      await referenceClient.connect();
      cleanup.push(() => referenceClient!.end());
      const seededUsers = postgres?.seeded.users ?? (await seedPasskeyUsersInMemory());
      reference = { server, database: referenceName, users: await seedReference(referenceClient, seededUsers) };
    }

    if (postgres) {
      const label = `PostgreSQL ${(await admin.query('show server_version')).rows[0].server_version}`;
      await benchTarget(admin, label, { databaseUrl: postgres.url, dataDir: null, database: postgresName }, keyring, postgres.seeded, reference, async () => {});
      printTable(label);
      if (SCALE) {
        const db = connectPostgres(postgres.url, { max: 2 });
        const t0 = performance.now();
        console.log(`\nscale: seeding ${SCALE_USERS} users and ${SCALE_AUDIT_ROWS} audit rows …`);
        await seedScale(db, keyring, SCALE_USERS, SCALE_AUDIT_ROWS);
        await db.destroy();
        console.log(`scale: seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        const scaleLabel = `${label}, ${SCALE_USERS} users, ${SCALE_AUDIT_ROWS} audit rows`;
        await benchTarget(admin, scaleLabel, { databaseUrl: postgres.url, dataDir: null, database: postgresName }, keyring, { ...postgres.seeded, totpUsers: [] }, reference);
        printTable(scaleLabel);
        console.log('\nscale / base (Latch ops/s; 1.00 = flat):');
        for (const row of results.filter((r) => r.database === scaleLabel)) {
          const base = results.find((r) => r.database === label && r.scenario === row.scenario);
          if (base) console.log(`  ${row.scenario.padEnd(32)} ${(row.latch.opsPerSecond / base.latch.opsPerSecond).toFixed(2)}   (ratio to the reference: ${row.reference && base.reference ? `${(row.latch.opsPerSecond / row.reference.opsPerSecond).toFixed(2)} vs ${(base.latch.opsPerSecond / base.reference.opsPerSecond).toFixed(2)}` : '—'})`);
        }
      }
    }

    if (DATABASES.includes('embedded')) {
      const dataDir = mkdtempSync(join(tmpdir(), 'latch-bench-'));
      cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const { db } = await openEmbedded(join(dataDir, 'pgdata'));
      const seeded = await seedLatch(db, keyring, passwordHash);
      await db.destroy();
      if (reference && referenceClient) reference = { ...reference, users: await seedReference(referenceClient, seeded.users) };
      const label = 'Embedded database (PGlite, on disk)';
      await benchTarget(admin, label, { databaseUrl: null, dataDir, database: null }, keyring, seeded, reference);
      printTable(label);
      console.log('  (pg ms/op: — on the embedded database, which runs inside the server process: its CPU is in srv ms/op.)');
    }

    if (SCENARIOS.includes('totp')) {
      // What argon2id alone costs (CPU of this process over a few verifies): the password + TOTP
      // target is that SQL and everything else stay under 10 % of the sign-in's server CPU.
      const before = process.cpuUsage();
      const verifies = 10;
      for (let i = 0; i < verifies; i++) await verifyPassword(passwordHash, BENCH_PASSWORD);
      const used = process.cpuUsage(before);
      const argon2Ms = (used.user + used.system) / 1000 / verifies;
      console.log(`\nargon2id verify: ${argon2Ms.toFixed(1)} ms CPU each (measured in the bench process)`);
      for (const row of results.filter((r) => r.scenario.startsWith('password + TOTP'))) {
        const rest = row.latch.serverCpuMsPerOp - argon2Ms;
        console.log(`  ${row.database}: server ${row.latch.serverCpuMsPerOp.toFixed(1)} ms/op, of which not argon2: ${rest.toFixed(1)} ms (${((100 * rest) / row.latch.serverCpuMsPerOp).toFixed(0)} %)`);
        // By thread, inside the server during the run: argon2id runs in libuv's pool, everything else
        // the sign-in does (SQL, TOTP, the session, audit rows) on the JavaScript thread.
        const main = row.latch.mainThreadCpuMsPerOp;
        const others = row.latch.serverCpuMsPerOp - main;
        if (Number.isFinite(main)) {
          console.log(`    by thread: JavaScript thread ${main.toFixed(1)} ms/op, other threads (argon2id in libuv's pool, V8's GC helpers) ${others.toFixed(1)} ms/op: the rest is ${((100 * main) / others).toFixed(0)} % of argon2's${row.database.startsWith('Embedded') ? ' (PGlite runs on the JavaScript thread)' : ''}`);
        }
      }
    }
    console.log('\nServer RSS after load:');
    for (const [label, mb] of Object.entries(memory)) console.log(`  ${label.padEnd(60)} ${fmt(mb, 0)} MB`);
    if (env.BENCH_JSON) writeFileSync(env.BENCH_JSON, JSON.stringify({ results, memory, settings: { SECONDS, WARMUP, ROUNDS, USERS, CONCURRENCY } }, null, 2));
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        console.warn(`cleanup: ${(error as Error).message}`);
      }
    }
  }

  if (env.BENCH_IN_PROCESS !== '0') {
    console.log('\nIn-process figures (no network):');
    await runInProcess(DATABASES.includes('postgres') ? await scratchDatabase(admin, `latch_bench_inproc_${stamp}`) : null);
    await admin.query(`drop database if exists latch_bench_inproc_${stamp} with (force)`);
  }
  await admin.end();

  if (env.BENCH_IMPORT !== '0' && DATABASES.includes('postgres')) {
    console.log('\nImport (latch import, jsonl, into PostgreSQL):');
    await benchImport(ADMIN_URL);
  }
}

async function scratchDatabase(admin: pg.Client, name: string) {
  return createDatabase(admin, name);
}

/** Passkeys for the reference when Latch runs on the embedded database only. */
async function seedPasskeyUsersInMemory(): Promise<BenchUser[]> {
  const { makePasskey } = await import('./seed.ts');
  return Array.from({ length: USERS }, (_, i) => ({ username: `bench-${i}`, passkey: makePasskey() }));
}

await main();
