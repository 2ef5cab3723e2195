import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { TestClient, TEST_ORIGIN } from './helpers/app.ts';
import { productionKeys, spawnLatch, type LatchProcess } from './helpers/process.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

/**
 * PostgreSQL stopped and started again under load. The test runs its own server in a temporary
 * folder (initdb/pg_ctl, as the postgres OS user when we are root: initdb refuses root), so it
 * can stop it; it is skipped only where those programs are missing.
 */
const BIN = process.env.LATCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const available = existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_ctl'));
const asRoot = process.getuid?.() === 0;

function runAsPostgres(program: string, args: string[]) {
  const command = asRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, program), ...args]] as const : [join(BIN, program), args] as const;
  return execFileSync(command[0], [...command[1]], { stdio: 'pipe', timeout: 120_000 }).toString();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

// Generous: on a loaded 2-core machine the spawned server and its PostgreSQL answer slowly; the test asserts what happens, not how fast.
// It stops at once, with the server's output, if the server process has exited (it used to crash
// on a connection error and leave the test waiting for 503s that could no longer come).
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000, server?: LatchProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) {
      throw new Error(`the server exited (${server.child.exitCode ?? server.child.signalCode}) while waiting for ${what}; output:\n${server.lines.join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// It starts a PostgreSQL of its own, whatever TEST_DATABASE_URL says: run it once, in the embedded
// pass, rather than again beside the PostgreSQL pass's load (where its 2-core machine is busiest).
describe.runIf(available && !process.env.TEST_DATABASE_URL)('PostgreSQL stops and comes back while requests run', () => {
  let folder: string;
  let dataDir: string;
  let port: number;
  let latch: LatchProcess;
  const pgctl = (...args: string[]) => runAsPostgres('pg_ctl', ['-D', dataDir, '-w', '-t', '60', ...args]);
  const start = () => pgctl('-o', `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`, '-l', join(folder, 'postgres.log'), 'start');

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'latch-faults-'));
    dataDir = join(folder, 'data');
    if (asRoot) {
      const { uid, gid } = { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
      chownSync(folder, uid, gid);
    }
    runAsPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    port = await freePort();
    start();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    latch = await spawnLatch({ env: { DATABASE_URL: url, LATCH_ORIGINS: TEST_ORIGIN, LATCH_TRUST_PROXY: 'true', LATCH_DB_POOL_SIZE: '4', ...productionKeys() } });
  }, 180_000);

  afterAll(async () => {
    await latch?.stop('SIGKILL');
    try {
      pgctl('-m', 'immediate', 'stop');
    } catch {
      // already stopped
    }
    rmSync(folder, { recursive: true, force: true });
  });

  it('answers 503 database_unavailable during the outage (never a 500), stays up, reconnects, /readyz follows, and the data is consistent', async () => {
    const over = { request: ((path: string, init?: RequestInit) => fetch(`${latch.url}${path}`, init)) as unknown as App['request'] };
    const statuses: Array<{ status: number; code?: string }> = [];
    let running = true;
    let n = 0;

    /** One worker of the load: passkey sign-ups (user, factor, session, audit rows in one transaction), then session checks. */
    const load = async (worker: number) => {
      while (running) {
        const client = new TestClient(over, `203.0.113.${worker}`);
        try {
          const authenticator = new SoftAuthenticator();
          const options = await client.post('/api/signup/passkey/options', { username: `fault-${worker}-${++n}` });
          statuses.push({ status: options.status, code: options.body?.error?.code });
          if (options.status !== 200) continue;
          const created = await client.post('/api/signup/passkey/verify', { ceremonyId: options.body.ceremonyId, response: authenticator.register(options.body.options) });
          statuses.push({ status: created.status, code: created.body?.error?.code });
          const session = await client.get('/api/session');
          statuses.push({ status: session.status, code: session.body?.error?.code });
        } catch (error) {
          statuses.push({ status: 0, code: (error as Error).message });
        }
      }
    };
    const workers = [1, 2, 3, 4].map(load);
    const succeeded = () => statuses.filter((entry) => entry.status >= 200 && entry.status < 300).length;

    await until(() => succeeded() > 10, 'requests to succeed before the outage', undefined, latch);
    pgctl('-m', 'fast', 'stop'); // ends every connection (admin_shutdown), then refuses new ones
    const atStop = statuses.length;
    await until(() => statuses.slice(atStop).filter((entry) => entry.status === 503).length >= 5, 'requests refused during the outage', undefined, latch);
    const ready = await fetch(`${latch.url}/readyz`);
    expect(ready.status).toBe(503);

    start();
    await until(async () => (await fetch(`${latch.url}/readyz`)).status === 200, '/readyz to report the database back', undefined, latch);
    const atRestart = succeeded();
    await until(() => succeeded() > atRestart + 10, 'requests to succeed after the restart', undefined, latch);
    running = false;
    await Promise.all(workers);

    expect(latch.child.exitCode).toBeNull(); // still up
    const failures = statuses.filter((entry) => entry.status >= 500 || entry.status === 0);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure).toEqual({ status: 503, code: 'database_unavailable' });
    expect(latch.lines.join('\n')).not.toMatch(/unhandled error|\n\s+at /);

    // Consistency: each change committed with its audit row, or not at all.
    const db = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await db.connect();
    try {
      const orphanSessions = await db.query(
        `select count(*)::int as n from sessions s where not exists (select 1 from audit_events a where a.session_id = s.id and a.action = 'session.create')`,
      );
      expect(orphanSessions.rows[0].n).toBe(0);
      const usersWithoutFactor = await db.query(
        `select count(*)::int as n from users u where not exists (select 1 from factors f where f.user_id = u.id and f.status = 'active')`,
      );
      expect(usersWithoutFactor.rows[0].n).toBe(0);
      const halfEnrolled = await db.query(`select count(*)::int as n from factors where status = 'active' and activated_at is null`);
      expect(halfEnrolled.rows[0].n).toBe(0);
      const sessions = await db.query(`select count(*)::int as n from sessions`);
      expect(sessions.rows[0].n).toBeGreaterThan(0);
    } finally {
      await db.end();
    }
  }, 240_000);
});
