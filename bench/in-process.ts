/**
 * The in-process figures of `npm run bench` (no network): the hot paths called through
 * `app.request`, on the embedded database and — when a PostgreSQL URL is given — on PostgreSQL,
 * and the password step's equal-time comparison. Bounded in count, so they always end.
 */
import { createApp } from '../src/app.ts';
import { consumeCeremony, createCeremony } from '../src/ceremonies/ceremonies.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { generateKeyring, type Keyring } from '../src/crypto/keyring.ts';
import { connectPostgres, openEmbedded, type Db } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { insertBackupCodeSet } from '../src/factors/backup-codes.ts';
import { hashPassword, storePasswordHash } from '../src/factors/password.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { silentLogger } from '../src/logger.ts';
import { createSession } from '../src/sessions/sessions.ts';
import { createUser } from '../src/users/users.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
/** Rounds of the password-step comparison: each asks once per case, argon2 makes one cost ~0.1 s. */
const PASSWORD_ROUNDS = Number(process.env.BENCH_PASSWORD_ROUNDS ?? 30);

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
  await comparePasswordStep(db, keyring, config);
  await measure('session create (sign-in write path)', Math.min(ITERATIONS, 1000), CONCURRENCY, () =>
    createSession(db, keyring, user.id, { amr: ['passkey', 'uv'], factorIds: [], aal: 2, phishingResistant: true }, { idleSeconds: 3600, absoluteSeconds: 86400 }, { now: new Date(), clientAddress: null, userAgent: null, requestId: null }),
  );
}

/**
 * The password step must take as long for an unknown user as for a known one, and for a wrong
 * password as for a right one (the equal argon2 work is a test; how long it takes is this figure).
 * The cases take turns, one request at a time, so drift and load hit them alike.
 */
async function comparePasswordStep(db: Db, keyring: Keyring, config: Config) {
  // Every request from its own address (trusted X-Forwarded-For), so the per-address limit of the password step never answers instead.
  const app = createApp({ db, config: { ...config, trustProxy: true }, keyring, clock: systemClock, logger: silentLogger });
  const now = new Date();
  const password = 'correct horse battery staple';
  const known = (await createUser(db, { username: `bench-pw-${Date.now()}` }, now))!;
  await storePasswordHash(db, known.id, await hashPassword(password), now);
  await insertBackupCodeSet(db, keyring, known.id, now);
  const cases = {
    unknownUser: { username: `bench-nobody-${Date.now()}`, password },
    // The known user as an attacker meets them: with a wrong password.
    wrongPassword: { username: known.username, password: 'not the password at all' },
    rightPassword: { username: known.username, password },
  };
  const latencies: Record<keyof typeof cases, number[]> = { unknownUser: [], wrongPassword: [], rightPassword: [] };
  let request = 0;
  const ask = async (body: object) => {
    request += 1;
    const t0 = performance.now();
    const response = await app.request('/api/signin/password', {
      method: 'POST',
      headers: { origin: config.origins[0]!, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json', 'x-forwarded-for': `10.${(request >> 16) & 255}.${(request >> 8) & 255}.${request & 255}` },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`password step answered ${response.status}`);
    return performance.now() - t0;
  };
  await ask(cases.unknownUser); // the dummy hash is made once, at the first unknown user
  for (let round = 0; round < PASSWORD_ROUNDS; round++) {
    for (const name of Object.keys(cases) as (keyof typeof cases)[]) latencies[name].push(await ask(cases[name]));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const compare = (name: string, a: number[], b: number[]) =>
    console.log(`${name.padEnd(48)} median ${median(a).toFixed(2)} ms vs ${median(b).toFixed(2)} ms   ratio ${(median(a) / median(b)).toFixed(2)}   (n=${PASSWORD_ROUNDS} each, one at a time)`);
  compare('password step: unknown user vs known user', latencies.unknownUser, latencies.wrongPassword);
  compare('password step: wrong password vs right password', latencies.wrongPassword, latencies.rightPassword);
}

export async function runInProcess(postgresUrl: string | null): Promise<void> {
  const embedded = await openEmbedded(null);
  await benchDatabase('In process: embedded database (PGlite, in memory)', embedded.db);
  await embedded.db.destroy();
  if (postgresUrl) {
    const pg = connectPostgres(postgresUrl, { max: 10 });
    await benchDatabase(`In process: PostgreSQL (${new URL(postgresUrl).host})`, pg);
    await pg.destroy();
  }
}
