import { createHash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one process (prom-client). Everything is counted from what the HTTP layer
 * already knows when a request ends (the route pattern, the status, the error code it answered),
 * so no flow or audit code has to know metrics exist. Labels are bounded: route patterns, methods,
 * outcomes — never a path, user or address.
 */

/** The answer a request ended with, as the HTTP layer saw it. */
export interface ObservedRequest {
  method: string;
  route: string;
  status: number;
  durationSeconds: number;
  /** The LatchError code answered, if any. */
  errorCode?: string | undefined;
  /** The answer's details said a lock starts now (the try that locked). */
  lockStarted?: boolean | undefined;
}

export type SignInMethod = 'passkey' | 'totp' | 'backup_code' | 'password' | 'remembered_device';
export type SignInOutcome = 'success' | 'failure' | 'locked_out' | 'rate_limited';

/** Routes that finish a sign-in (or a sign-up, which signs in), by the method that proves it. */
const signInRoutes: Record<string, { method: SignInMethod; kind: 'sign_in' | 'sign_up' }> = {
  '/api/signin/passkey/verify': { method: 'passkey', kind: 'sign_in' },
  '/api/signin/totp': { method: 'totp', kind: 'sign_in' },
  '/api/signin/backup-code': { method: 'backup_code', kind: 'sign_in' },
  '/api/signup/passkey/verify': { method: 'passkey', kind: 'sign_up' },
  '/api/signup/totp/verify': { method: 'totp', kind: 'sign_up' },
};

export interface Metrics {
  readonly registry: Registry;
  observeRequest(request: ObservedRequest): void;
  /**
   * For entry points that do not go through the web API's routes (a CLI, an OpenID Connect
   * interaction): count a sign-in where its outcome is known. The web API's are counted already.
   */
  recordSignIn(method: SignInMethod, outcome: SignInOutcome, kind?: 'sign_in' | 'sign_up'): void;
  /** The exposition text of this process. */
  render(): Promise<string>;
}

export function createMetrics(options: { pool?: pg.Pool | null; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'latch_' });

  const requests = new Counter({
    name: 'latch_http_requests_total',
    help: 'HTTP requests by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'latch_http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const signIns = new Counter({
    name: 'latch_sign_ins_total',
    help: 'Sign-ins and sign-ups finished through the API, by method and outcome.',
    labelNames: ['kind', 'method', 'outcome'] as const,
    registers: [registry],
  });
  const lockouts = new Counter({
    name: 'latch_lockouts_total',
    help: 'Second-factor lockouts started (the try that locks), by route.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const lockedRefusals = new Counter({
    name: 'latch_locked_out_refusals_total',
    help: 'Second-factor tries refused because a lock holds (429 locked_out), by route.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'latch_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit (429 rate_limited), by route.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  if (cluster.isWorker && process.send) joinClusterMetrics(registry);
  const pool = options.pool;
  if (pool) {
    const gauge = (name: string, help: string, read: (p: pg.Pool) => number) =>
      new Gauge({ name, help, registers: [registry], collect() { this.set(read(pool)); } });
    gauge('latch_db_pool_connections', 'PostgreSQL connections open in the pool (pg Pool totalCount).', (p) => p.totalCount);
    gauge('latch_db_pool_idle_connections', 'Idle PostgreSQL connections in the pool (idleCount).', (p) => p.idleCount);
    gauge('latch_db_pool_waiting_requests', 'Queries waiting for a pool connection (waitingCount).', (p) => p.waitingCount);
  }

  function recordSignIn(method: SignInMethod, outcome: SignInOutcome, kind: 'sign_in' | 'sign_up' = 'sign_in') {
    signIns.inc({ kind, method, outcome });
  }

  return {
    registry,
    recordSignIn,
    observeRequest(request) {
      const status = String(request.status);
      requests.inc({ method: request.method, route: request.route, status });
      duration.observe({ method: request.method, route: request.route }, request.durationSeconds);
      if (request.errorCode === 'rate_limited') rateLimited.inc({ route: request.route });
      if (request.errorCode === 'locked_out') lockedRefusals.inc({ route: request.route });
      if (request.lockStarted) lockouts.inc({ route: request.route });
      const signIn = request.method === 'POST' ? signInRoutes[request.route] : undefined;
      if (signIn) {
        const outcome: SignInOutcome | null =
          request.status >= 200 && request.status < 300
            ? 'success'
            : request.errorCode === 'locked_out'
              ? 'locked_out'
              : request.errorCode === 'rate_limited'
                ? 'rate_limited'
                : request.status >= 400 && request.status < 500
                  ? 'failure'
                  : null; // a 5xx says nothing about the proof
        if (outcome) recordSignIn(signIn.method, outcome, signIn.kind);
      }
    },
    render: () => (cluster.isWorker && process.send ? renderThroughPrimary(registry) : registry.metrics()),
  };
}

/*
 * WORKERS=N: a scrape lands on one worker, but must see them all. The worker asks the primary,
 * which collects every worker's registry (prom-client's AggregatorRegistry) and answers the sum.
 */
const METRICS_MESSAGE = 'latch:metrics';
let pending = 0;
const waiting = new Map<number, (text: string | null) => void>();

/** In a worker: answer the primary's collection requests (prom-client's own messages) with this registry. */
function joinClusterMetrics(registry: Registry): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  process.on('message', onPrimaryAnswer);
}

function renderThroughPrimary(registry: Registry): Promise<string> {
  const id = ++pending;
  return new Promise((resolve) => {
    const timer = setTimeout(() => settle(null), 6000);
    function settle(text: string | null) {
      clearTimeout(timer);
      waiting.delete(id);
      // The primary did not answer: this worker's own figures beat none.
      if (text === null) registry.metrics().then(resolve, () => resolve(''));
      else resolve(text);
    }
    waiting.set(id, settle);
    process.send!({ type: METRICS_MESSAGE, id });
  });
}

function onPrimaryAnswer(message: unknown) {
  const answer = message as { type?: string; id?: number; text?: string };
  if (answer?.type === METRICS_MESSAGE && typeof answer.id === 'number') waiting.get(answer.id)?.(answer.text ?? null);
}

/** In the primary: answers workers' requests for the cluster's metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_MESSAGE) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_MESSAGE, id: message.id, text }),
      () => worker.send({ type: METRICS_MESSAGE, id: message.id }),
    );
  });
}

/** Whether an `Authorization` header carries the metrics token (compared in constant time). */
export function bearerTokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Hash both sides: equal lengths for timingSafeEqual, and the comparison's time tells nothing about the token.
  const given = createHash('sha256').update(match?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return match !== null && timingSafeEqual(given, expected);
}
