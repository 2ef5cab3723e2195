/**
 * `npm run bench:breakdown`: where the session check's CPU goes, layer by layer, on PostgreSQL.
 *
 * The session check is one indexed SELECT, as the reference's is; Latch spends about twice the
 * reference's server CPU on it. This takes the request apart, each layer adding one thing to the
 * one before, and prints client (Node) and PostgreSQL backend CPU per operation, read from /proc:
 *   1. the reference's statement (3 columns), prepared, on a bare pg.Client;
 *   2. Latch's statement (the session's and its user's columns), prepared, on a bare pg.Client;
 *   3. the same compiled statement through Kysely and the pool (as every Latch query runs);
 *   4. lookUpSession (the token's HMAC, the row split into session and user);
 *   5. the same lookUpSession behind a bare Hono route in-process (app.request, no socket), answering
 *      a small JSON: what Hono and the in-process request cost by themselves;
 *   6. GET /api/session through Latch's whole app in-process: its middlewares (security headers,
 *      request id and logger, CSRF, the session cookie), the OpenAPI route and its full JSON.
 * One operation at a time on one connection, so the figures do not depend on the machine's load
 * as the closed loop's do. Environment: DATABASE_URL (else a database it creates on
 * 127.0.0.1:5432), BENCH_ITERATIONS (20000), BENCH_ROUNDS (2).
 */
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { generateKeyring } from '../src/crypto/keyring.ts';
import { connectPostgres } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { silentLogger } from '../src/logger.ts';
import { createSession, hashSessionToken, lookUpSession, sessionCheckStatement } from '../src/sessions/sessions.ts';
import { createUser } from '../src/users/users.ts';
import { cpuMs } from './proc.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LIFETIMES = { idleSeconds: 3600, absoluteSeconds: 86400 };
/** What @hono/node-server hands the app with each request: the client address is read from it (without it, a thrown and caught error per request). */
const SOCKET = { incoming: { socket: { remoteAddress: '127.0.0.1', remotePort: 50000, remoteFamily: 'IPv4' } } };

const admin = process.env.DATABASE_URL ? null : new pg.Client({ connectionString: ADMIN_URL });
const databaseName = `latch_bench_breakdown_${Date.now()}`;
let url = process.env.DATABASE_URL ?? '';
if (admin) {
  await admin.connect();
  await admin.query(`create database ${databaseName}`);
  url = ADMIN_URL.replace(/\/postgres$/, `/${databaseName}`);
}
// One connection: the PostgreSQL backend whose CPU is read stays the same.
const db = connectPostgres(url, { max: 1 });
const client = new pg.Client({ connectionString: url });
try {
  await migrateToLatest(db);
  await client.connect();
  const keyring = generateKeyring();
  const now = new Date();
  const user = (await createUser(db, { username: `breakdown-${Date.now()}` }, now))!;
  const { token } = await createSession(db, keyring, user.id, { amr: ['hwk', 'user'], factorIds: [], aal: 2, phishingResistant: true }, LIFETIMES, {
    now,
    clientAddress: null,
    userAgent: null,
    requestId: null,
  });
  const tokenHash = hashSessionToken(keyring, token);
  const config = loadConfig({ LATCH_ORIGINS: 'http://localhost:3000' });
  const app = createApp({ db, config, keyring, clock: systemClock, logger: silentLogger });
  // The time is a parameter too: fixed here (the session lives an hour), as the route's is per request.
  const bare = new Hono();
  bare.get('/session', async (c) => {
    const auth = await lookUpSession(db, keyring, getCookie(c, SESSION_COOKIE) ?? '', LIFETIMES, new Date());
    return auth ? c.json({ userId: auth.user.id, username: auth.user.username }) : c.json({ error: 'unauthenticated' }, 401);
  });
  const latchStatement = sessionCheckStatement(db, tokenHash, new Date());
  const referenceText =
    'select s.user_id, s.idle_expires_at, u.username from sessions s join users u on u.id = s.user_id where s.token_hash = $1 and s.idle_expires_at > now()';

  const layers: [string, () => Promise<unknown>][] = [
    ['1. the reference\'s statement (3 columns), pg', () => client.query({ name: 'reference', text: referenceText, values: [tokenHash] })],
    [`2. Latch's statement (${latchStatement.columns} columns), pg`, () => client.query({ name: 'latch', text: latchStatement.sql, values: [...latchStatement.parameters] })],
    ['3. + Kysely and the pool', () => db.executeQuery(CompiledQuery.raw(latchStatement.sql, [...latchStatement.parameters]))],
    ['4. + lookUpSession (HMAC, session and user)', () => lookUpSession(db, keyring, token, LIFETIMES, new Date())],
    [
      '5. lookUpSession behind a bare Hono route',
      async () => {
        const response = await bare.request('/session', { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
        if (response.status !== 200) throw new Error(`the bare route answered ${response.status}`);
        await response.arrayBuffer();
      },
    ],
    [
      '6. Latch\'s app in-process: GET /api/session',
      async () => {
        const response = await app.request('/api/session', { headers: { cookie: `${SESSION_COOKIE}=${token}` } }, SOCKET);
        if (response.status !== 200) throw new Error(`GET /api/session answered ${response.status}`);
        await response.arrayBuffer();
      },
    ],
  ];

  const clientPid = await backendPid(client);
  console.log(`Session check, layer by layer: ${ITERATIONS} operations one at a time, ${ROUNDS} rounds (medians), µs per operation`);
  console.log(`${'layer'.padEnd(48)} ${'Node CPU'.padStart(9)} ${'PostgreSQL CPU'.padStart(15)} ${'wall'.padStart(8)}`);
  for (const [name, operation] of layers) {
    const pid = name.startsWith('1.') || name.startsWith('2.') ? clientPid : await backendPid(db);
    const rounds: { node: number; postgres: number; wall: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await measure(operation, pid));
    const median = (pick: (r: (typeof rounds)[number]) => number) => rounds.map(pick).sort((a, b) => a - b)[Math.floor((rounds.length - 1) / 2)]!;
    console.log(`${name.padEnd(48)} ${median((r) => r.node).toFixed(1).padStart(9)} ${median((r) => r.postgres).toFixed(1).padStart(15)} ${median((r) => r.wall).toFixed(1).padStart(8)}`);
  }
} finally {
  await client.end().catch(() => undefined);
  await db.destroy();
  if (admin) {
    await admin.query(`drop database if exists ${databaseName} with (force)`);
    await admin.end();
  }
}

async function measure(operation: () => Promise<unknown>, pid: number) {
  for (let i = 0; i < Math.min(2000, ITERATIONS / 5); i++) await operation();
  const cpu = process.cpuUsage();
  const postgres = cpuMs(pid) ?? Number.NaN;
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) await operation();
  const used = process.cpuUsage(cpu);
  return {
    node: (used.user + used.system) / ITERATIONS,
    postgres: (((cpuMs(pid) ?? Number.NaN) - postgres) * 1000) / ITERATIONS,
    wall: ((performance.now() - started) * 1000) / ITERATIONS,
  };
}

async function backendPid(executor: { query(text: string): Promise<{ rows: { pid: number }[] }> } | typeof db): Promise<number> {
  if ('query' in executor) return (await executor.query('select pg_backend_pid() as pid')).rows[0]!.pid;
  return (await executor.executeQuery<{ pid: number }>(CompiledQuery.raw('select pg_backend_pid() as pid', []))).rows[0]!.pid;
}
