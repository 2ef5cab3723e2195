/**
 * `npm run bench`: figures for the hot paths, in-process (no network), on the embedded database
 * and — when BENCH_DATABASE_URL is set — on PostgreSQL. Prints operations per second and latency
 * percentiles; bounded in count, so it always ends.
 */
import { createApp } from '../src/app.ts';
import { consumeCeremony, createCeremony } from '../src/ceremonies/ceremonies.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { generateKeyring } from '../src/crypto/keyring.ts';
import { connectPostgres, openEmbedded, type Db } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { silentLogger } from '../src/logger.ts';
import { createSession } from '../src/sessions/sessions.ts';
import { createUser } from '../src/users/users.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

async function measure(name: string, iterations: number, concurrency: number, operation: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < iterations) {
        const i = next++;
        const t0 = performance.now();
        await operation(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2);
  console.log(`${name.padEnd(44)} ${String(Math.round(iterations / seconds)).padStart(7)} ops/s   p50 ${pct(50)} ms   p99 ${pct(99)} ms   (n=${iterations}, concurrency ${concurrency})`);
}

async function benchDatabase(label: string, db: Db) {
  console.log(`\n${label}`);
  await migrateToLatest(db);
  const keyring = generateKeyring();
  const config = loadConfig({ LATCH_ORIGINS: 'http://localhost:3000' });
  const app = createApp({ db, config, keyring, clock: systemClock, logger: silentLogger });
  const now = new Date();
  const user = (await createUser(db, { username: `bench-${Date.now()}` }, now))!;
  const { token } = await createSession(db, keyring, user.id, { amr: ['passkey', 'uv'], factorIds: [], aal: 2, phishingResistant: true }, { idleSeconds: 3600, absoluteSeconds: 86400 }, { now, clientAddress: null, userAgent: null, requestId: null });

  await measure('GET /api/session (cookie → session lookup)', ITERATIONS, CONCURRENCY, async () => {
    const response = await app.request('/api/session', { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
    if (response.status !== 200) throw new Error(`session lookup answered ${response.status}`);
  });
  await measure('GET /healthz (middleware stack only)', ITERATIONS, CONCURRENCY, async () => {
    await (await app.request('/healthz')).arrayBuffer();
  });
  await measure('ceremony create + consume once', ITERATIONS, CONCURRENCY, async () => {
    const id = await createCeremony(db, keyring, { kind: 'passkey_signin', challenge: 'x', ttlSeconds: 300 }, new Date());
    if (!(await consumeCeremony(db, keyring, id, 'passkey_signin', new Date()))) throw new Error('ceremony not consumed');
  });
  await measure('session create (sign-in write path)', Math.min(ITERATIONS, 1000), CONCURRENCY, () =>
    createSession(db, keyring, user.id, { amr: ['passkey', 'uv'], factorIds: [], aal: 2, phishingResistant: true }, { idleSeconds: 3600, absoluteSeconds: 86400 }, { now: new Date(), clientAddress: null, userAgent: null, requestId: null }),
  );
}

const embedded = await openEmbedded(null);
await benchDatabase('Embedded database (PGlite, in memory)', embedded.db);
await embedded.db.destroy();

if (process.env.BENCH_DATABASE_URL) {
  const pg = connectPostgres(process.env.BENCH_DATABASE_URL, { max: 10 });
  await benchDatabase(`PostgreSQL (${new URL(process.env.BENCH_DATABASE_URL).host})`, pg);
  await pg.destroy();
} else {
  console.log('\n(set BENCH_DATABASE_URL=postgres://… to measure on PostgreSQL too)');
}
