import { request as httpRequest, Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { TestClient, TEST_ORIGIN } from './helpers/app.ts';
import { codeFromUri } from './helpers/authenticator.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { GOOD_PASSWORD, uniqueUsername } from './helpers/fallback.ts';
import { productionKeys, spawnLatch, type LatchProcess } from './helpers/process.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

/**
 * Two server processes on two ports over one PostgreSQL: nothing another instance must see lives
 * in a process's memory (ceremonies, one-time codes, lockout counters, sessions).
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

describe.runIf(onPostgres)('several instances on one PostgreSQL', () => {
  let database: TestDatabase;
  let a: LatchProcess;
  let b: LatchProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { DATABASE_URL: database.url!, LATCH_ORIGINS: TEST_ORIGIN, LATCH_TRUST_PROXY: 'true', LATCH_LOG_LEVEL: 'debug', ...productionKeys() };
    [a, b] = await Promise.all([spawnLatch({ env }), spawnLatch({ env })]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await database?.close();
  });

  /** A TestClient speaking HTTP to a real process. */
  function over(server: LatchProcess): { request: App['request'] } {
    return { request: ((path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init)) as unknown as App['request'] };
  }
  const clientOn = (server: LatchProcess, address: string) => new TestClient(over(server), address);

  it('a passkey ceremony started on one instance finishes on the other, both ways', async () => {
    const authenticator = new SoftAuthenticator();
    const onA = clientOn(a, '198.51.100.1');
    const started = await onA.post('/api/signup/passkey/options', { username: uniqueUsername('multi') });
    expect(started.status).toBe(200);
    const finished = await onA.via(over(b)).post('/api/signup/passkey/verify', { ceremonyId: started.body.ceremonyId, response: authenticator.register(started.body.options) });
    expect(finished.status).toBe(201);

    const onB = clientOn(b, '198.51.100.2');
    const signIn = await onB.post('/api/signin/passkey/options', {});
    const verified = await onB.via(over(a)).post('/api/signin/passkey/verify', { ceremonyId: signIn.body.ceremonyId, response: authenticator.assert(signIn.body.options) });
    expect(verified.status).toBe(200);
  });

  it('a TOTP code accepted on one instance is refused on the other; wrong codes counted on one lock the other', async () => {
    const username = uniqueUsername('multi');
    const onA = clientOn(a, '198.51.100.3');
    const start = await onA.post('/api/signup/totp/start', { username, password: GOOD_PASSWORD });
    const uri: string = start.body.otpauthUri;
    const created = await onA.via(over(b)).post('/api/signup/totp/verify', { ceremonyId: start.body.ceremonyId, code: codeFromUri(uri, new Date()) });
    expect(created.status).toBe(201);

    // The next step's code (inside the one-step tolerance, and later than the one sign-up spent).
    const code = codeFromUri(uri, new Date(), 1);
    const ticketOn = async (client: TestClient) => (await client.post('/api/signin/password', { username, password: GOOD_PASSWORD })).body.ticket as string;
    const first = clientOn(a, '198.51.100.4');
    expect((await first.post('/api/signin/totp', { ticket: await ticketOn(first), code })).status).toBe(200);
    const replay = clientOn(b, '198.51.100.5');
    const replayed = await replay.post('/api/signin/totp', { ticket: await ticketOn(replay), code });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('code_invalid');

    // Five wrong codes from one address, alternating between the instances, start the lock on both.
    const valid = new Set([-1, 0, 1, 2].map((offset) => codeFromUri(uri, new Date(), offset)));
    const wrong = ['000000', '111111', '222222', '333333', '444444', '555555'].filter((candidate) => !valid.has(candidate))[0]!;
    const address = '198.51.100.6';
    for (let i = 0; i < 5; i++) {
      const client = clientOn(i % 2 === 0 ? a : b, address);
      const response = await client.post('/api/signin/totp', { ticket: await ticketOn(client), code: wrong });
      expect(response.body.error.code).toBe('code_invalid');
    }
    for (const server of [a, b]) {
      const client = clientOn(server, address);
      const locked = await client.post('/api/signin/totp', { ticket: await ticketOn(client), code: codeFromUri(uri, new Date(), 1) });
      expect(locked.status).toBe(429);
      expect(locked.body.error.code).toBe('locked_out');
    }
  });

  it('a session ended on one instance is refused on the other at once', async () => {
    const authenticator = new SoftAuthenticator();
    const onA = clientOn(a, '198.51.100.7');
    const started = await onA.post('/api/signup/passkey/options', { username: uniqueUsername('multi') });
    expect((await onA.post('/api/signup/passkey/verify', { ceremonyId: started.body.ceremonyId, response: authenticator.register(started.body.options) })).status).toBe(201);
    const onB = onA.via(over(b));
    expect((await onB.get('/api/session')).status).toBe(200);
    expect((await onA.delete('/api/session')).status).toBe(204);
    const after = await onB.get('/api/session');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthenticated');
  });

  it('oversized headers (a pile of cookies) are refused with 431 before the app; an oversized body with 413 payload_too_large', async () => {
    const cookies = Array.from({ length: 400 }, (_, i) => `c${i}=${'x'.repeat(40)}`).join('; ');
    const headers = await fetch(`${a.url}/api/session`, { headers: { cookie: cookies } });
    expect(headers.status).toBe(431);
    const body = await fetch(`${a.url}/api/signin/password`, {
      method: 'POST',
      headers: { origin: TEST_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'x', password: 'y'.repeat(100 * 1024) }),
    });
    expect(body.status).toBe(413);
    expect((await body.json()).error.code).toBe('payload_too_large');
  });

  it('SIGTERM: the instance stops accepting, finishes the request in flight, and exits 0', async () => {
    // One connection: a first request proves the server accepted it, then a second request's
    // headers and half its body; the app has started it (its debug line) when SIGTERM arrives.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(b.url);
    const send = (path: string, method: string, body?: [string, string]) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = httpRequest({ host: url.hostname, port: url.port, path, method, agent, headers: { origin: TEST_ORIGIN, 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.8', ...(body ? { 'content-length': String(Buffer.byteLength(body.join(''))) } : {}) } }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, text }));
        });
        request.on('error', reject);
        if (!body) return request.end();
        request.write(body[0]);
        // The rest only once the server is shutting down.
        b.waitForLine(/shutting down/).then(() => request.end(body[1]), reject);
      });
    expect((await send('/healthz', 'GET')).status).toBe(200);
    const startedBefore = b.lines.filter((line) => line.includes('"request started"')).length;
    const inFlight = send('/api/signin/password', 'POST', [`{"username":"nobody-here","pass`, `word":"${GOOD_PASSWORD}"}`]);
    // Wait for the app to have started this request, then stop the process.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (b.lines.filter((line) => line.includes('"request started"')).length > startedBefore) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    const exitCode = b.stop('SIGTERM');
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.text)).toHaveProperty('ticket');
    expect(await exitCode).toBe(0);
    // Stopped accepting: a new connection is refused.
    await expect(fetch(`${b.url}/healthz`)).rejects.toThrow();
    agent.destroy();
  });
});

describe.runIf(onPostgres)('WORKERS=2: one port, two processes', () => {
  it('serves from both workers, /metrics adds up every worker, and SIGTERM stops them all with exit 0', async () => {
    const database = await createTestDatabase();
    const token = 'cluster-metrics-token-0123456789abcdef';
    const cluster = await spawnLatch({ env: { WORKERS: '2', DATABASE_URL: database.url!, LATCH_ORIGINS: TEST_ORIGIN, LATCH_METRICS: 'true', LATCH_METRICS_TOKEN: token, ...productionKeys() } });
    try {
      // Each request on a new connection: the primary hands connections to the workers in turn.
      for (let i = 0; i < 6; i++) expect((await fetch(`${cluster.url}/readyz`, { headers: { connection: 'close' } })).status).toBe(200);
      const text = await (await fetch(`${cluster.url}/metrics`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } })).text();
      expect(text).toMatch(/^latch_http_requests_total\{method="GET",route="\/readyz",status="200"\} 6$/m);
      expect(text).toMatch(/^latch_db_pool_connections [1-9]/m);
    } finally {
      expect(await cluster.stop('SIGTERM')).toBe(0);
      await database.close();
    }
  }, 180_000);
});
