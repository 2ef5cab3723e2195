/**
 * `npm run bench:import` (and the end of `npm run bench` when BENCH_DATABASE_URL is set): imports
 * BENCH_IMPORT_USERS (100,000) generated jsonl users — a password hash, a TOTP secret, an email,
 * a group each — into a fresh PostgreSQL database of their own, and prints users/s and the total.
 * Target: 100,000 users in at most 60 s (hashes are stored as given, not re-hashed).
 * The database: BENCH_DATABASE_URL, else DATABASE_URL, else the local server; it is dropped after.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateKeyring } from '../src/crypto/keyring.ts';
import { connectPostgres } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { encodeTotpSecret } from '../src/factors/totp.ts';
import { readJsonl } from '../src/import/adapters/jsonl.ts';
import { importUsers } from '../src/import/import-users.ts';

const USERS = Number(process.env.BENCH_IMPORT_USERS ?? 100_000);
const TARGET_SECONDS = 60;

async function generate(file: string, count: number) {
  const out = createWriteStream(file);
  const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
  for (let i = 0; i < count; i++) {
    const line = JSON.stringify({
      username: `bench-user-${i}`,
      displayName: `Bench User ${i}`,
      email: `bench-user-${i}@example.org`,
      emailVerified: i % 2 === 0,
      groups: [`department-${i % 10}`],
      // A well-formed Keycloak-style PBKDF2 hash: stored as given, so its content does not matter here.
      passwordHash: `$pbkdf2-sha256$27500$${ab64(randomBytes(16))}$${ab64(randomBytes(32))}`,
      totp: { secret: encodeTotpSecret(randomBytes(20)) },
    });
    if (!out.write(line + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function benchImport(serverUrl: string): Promise<void> {
  const name = `latch_bench_import_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = connectPostgres(url.toString(), { max: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'latch-bench-import-'));
  try {
    await migrateToLatest(db);
    const file = join(dir, 'users.jsonl');
    await generate(file, USERS);
    const size = (await stat(file)).size;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const summary = await importUsers({ db, keyring: generateKeyring(), config: { origins: ['http://localhost:3000'] } }, readJsonl(createReadStream(file)), {
      dryRun: false,
      linkTtlSeconds: 3600,
      now: new Date(),
      format: 'jsonl',
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    if (summary.imported !== USERS) throw new Error(`imported ${summary.imported} of ${USERS}: ${JSON.stringify(summary.errors.slice(0, 3))}`);
    const verdict = USERS >= 100_000 ? (seconds <= TARGET_SECONDS ? `within the ${TARGET_SECONDS} s target` : `OVER the ${TARGET_SECONDS} s target`) : '';
    console.log(
      `${`import ${USERS.toLocaleString('en')} jsonl users (${(size / 1e6).toFixed(1)} MB)`.padEnd(44)} ${String(Math.round(USERS / seconds)).padStart(7)} users/s   total ${seconds.toFixed(1)} s   ${verdict}   (PostgreSQL ${url.host}, batches of 500; this process used ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU, the rest is the database and waiting)`,
    );
  } finally {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
    await admin.query(`drop database if exists ${name}`);
    await admin.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchImport(process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
}
