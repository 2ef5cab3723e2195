import type { LogConfig } from 'kysely';
import { afterAll } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { createDeferredWork, type DeferredWork } from '../../src/deferred-work.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { generateKeyring, type Keyring } from '../../src/crypto/keyring.ts';
import type { Db } from '../../src/db/database.ts';
import type { Factor, User } from '../../src/db/schema.ts';
import { silentLogger, type Logger } from '../../src/logger.ts';
import { createSession, type SessionProof } from '../../src/sessions/sessions.ts';
import { createUser } from '../../src/users/users.ts';
import { SESSION_COOKIE } from '../../src/http/session-cookie.ts';
import { fakeClock, type FakeClock } from './clock.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const TEST_ORIGIN = 'http://localhost:3000';

export interface TestApp {
  app: App;
  db: Db;
  database: TestDatabase;
  clock: FakeClock;
  keyring: Keyring;
  config: Config;
  logger: Logger;
  /** Work requests started after answering (self-service recovery): `await t.deferred.settled()` before looking at its outcome. */
  deferred: DeferredWork;
  /** A browser-like client with its own cookie jar, sending same-origin JSON by default. */
  client(options?: { clientAddress?: string }): TestClient;
  /** Another app over the same database: a second server instance. */
  anotherInstance(): App;
}

/**
 * One app over one fresh database for a test file; closed after the file. Pass env overrides to
 * test configuration (e.g. LATCH_TRUST_PROXY).
 */
export async function createTestApp(options: { env?: Record<string, string>; logger?: Logger; log?: LogConfig } = {}): Promise<TestApp> {
  const database = await createTestDatabase(options.log ? { log: options.log } : {});
  const config = loadConfig({ LATCH_ORIGINS: TEST_ORIGIN, LATCH_TRUST_PROXY: 'true', ...options.env });
  const keyring = generateKeyring();
  const clock = fakeClock();
  const logger = options.logger ?? silentLogger;
  const deferred = createDeferredWork(logger);
  const app = createApp({ db: database.db, config, keyring, clock, logger, deferred });
  afterAll(async () => {
    await deferred.settled();
    await database.close();
  });
  return {
    app,
    db: database.db,
    database,
    clock,
    keyring,
    config,
    logger,
    deferred,
    client: (clientOptions = {}) => new TestClient(app, clientOptions.clientAddress ?? '203.0.113.10'),
    anotherInstance: () => createApp({ db: database.connectAgain(), config, keyring, clock, logger }),
  };
}

export interface TestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export class TestClient {
  readonly cookies = new Map<string, string>();

  constructor(
    private app: { request: App['request'] },
    /** Sent as X-Forwarded-For; the test app trusts the proxy header so tests can vary the address. */
    public clientAddress: string,
  ) {}

  /** Use another app instance (same database) with this client's cookies. */
  via(app: { request: App['request'] }): TestClient {
    const other = new TestClient(app, this.clientAddress);
    for (const [name, value] of this.cookies) other.cookies.set(name, value);
    return other;
  }

  get sessionToken(): string | undefined {
    return this.cookies.get(SESSION_COOKIE);
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<TestResponse<T>> {
    const requestHeaders: Record<string, string> = {
      origin: TEST_ORIGIN,
      'sec-fetch-site': 'same-origin',
      'x-forwarded-for': this.clientAddress,
      'user-agent': 'LatchTest/1.0',
      ...headers,
    };
    if (this.cookies.size > 0) {
      requestHeaders.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      requestHeaders['content-type'] ??= 'application/json';
    } else if (method !== 'GET' && method !== 'DELETE' && method !== 'HEAD') {
      payload = '{}';
      requestHeaders['content-type'] ??= 'application/json';
    }
    const response = await this.app.request(path, { method, headers: requestHeaders, body: payload });
    for (const cookie of response.headers.getSetCookie()) this.storeCookie(cookie);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  patch<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PATCH', path, body, headers);
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, undefined, headers);
  }

  private storeCookie(header: string) {
    const [pair, ...attributes] = header.split(';');
    const separator = pair!.indexOf('=');
    const name = pair!.slice(0, separator).trim();
    const value = pair!.slice(separator + 1).trim();
    const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute)) || value === '';
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/**
 * Test shortcut for the foundation's own tests: a user with the given factor rows and a live
 * session in `client`, without going through a sign-in ceremony (the factor issues test those).
 */
export async function seedSignedInUser(
  t: TestApp,
  client: TestClient,
  options: { username?: string; factors?: Array<Partial<Factor> & Pick<Factor, 'kind'>>; proof?: Partial<SessionProof> } = {},
): Promise<{ user: User; factors: Factor[]; sessionId: string }> {
  const now = t.clock.now();
  const user = (await createUser(t.db, { username: options.username ?? `user-${Math.random().toString(36).slice(2, 10)}` }, now))!;
  const factors: Factor[] = [];
  for (const spec of options.factors ?? [{ kind: 'passkey' }]) {
    factors.push(await insertFactor(t.db, user.id, spec, now));
  }
  const { session, token } = await createSession(
    t.db,
    t.keyring,
    user.id,
    { amr: ['passkey', 'uv'], factorIds: factors.map((f) => f.id), aal: 2, phishingResistant: true, ...options.proof },
    { idleSeconds: t.config.sessionIdleSeconds, absoluteSeconds: t.config.sessionAbsoluteSeconds },
    { now, clientAddress: client.clientAddress, userAgent: 'LatchTest/1.0', requestId: null },
  );
  client.cookies.set(SESSION_COOKIE, token);
  return { user, factors, sessionId: session.id };
}

let credentialCounter = 0;

/** A factor row of the given kind with plausible kind columns, for tests that need one to exist. */
export async function insertFactor(db: Db, userId: string, spec: Partial<Factor> & Pick<Factor, 'kind'>, now: Date): Promise<Factor> {
  const kindColumns: Partial<Factor> =
    spec.kind === 'passkey'
      ? { credential_id: `test-credential-${++credentialCounter}-${Math.random().toString(36).slice(2)}`, public_key: new Uint8Array([1, 2, 3]), sign_count: 0, backup_eligible: false, backed_up: false, user_verified: true }
      : spec.kind === 'totp'
        ? { secret_sealed: 'v1.test.test', key_id: 'k1', algorithm: 'SHA1', digits: 6, period_seconds: 30 }
        : spec.kind === 'password'
          ? { password_hash: '$argon2id$test' }
          : {};
  const { id: _id, ...rest } = { ...kindColumns, ...spec } as Partial<Factor>;
  return db
    .insertInto('factors')
    .values({
      user_id: userId,
      status: 'active',
      created_at: now,
      activated_at: now,
      label: null,
      ...(rest as object),
      kind: spec.kind,
    } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}
