import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { isDatabaseUnavailable } from '../src/db/unavailable.ts';

describe('database unavailable vs. a bug: what answers 503 database_unavailable', () => {
  it('connection refused, admin shutdown, starting up, connection exceptions and cut connections are outages', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(refused)).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([refused], 'all addresses failed'))).toBe(true);
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300']) expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: refused }))).toBe(true);
  });

  it('constraint violations, syntax errors and plain bugs are not (they stay 500s, or the flow maps them)', () => {
    for (const code of ['23505', '42601', '22P02', '40001']) expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe('production settings are validated at start', () => {
  it('WORKERS > 1 needs PostgreSQL: the embedded database belongs to one process', () => {
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(/WORKERS/);
    expect(() => loadConfig({ WORKERS: '0' })).toThrow(ConfigError);
  });

  it('timeouts: positive whole seconds, headers within the request timeout', () => {
    expect(loadConfig({}).timeouts).toEqual({ headersSeconds: 10, requestSeconds: 30, keepAliveSeconds: 5, shutdownSeconds: 15 });
    expect(() => loadConfig({ LATCH_HEADERS_TIMEOUT_SECONDS: '60', LATCH_REQUEST_TIMEOUT_SECONDS: '30' })).toThrow(/LATCH_HEADERS_TIMEOUT_SECONDS/);
    expect(() => loadConfig({ LATCH_REQUEST_TIMEOUT_SECONDS: '-1' })).toThrow(ConfigError);
  });

  it('metrics are off by default and need a long token when on', () => {
    expect(loadConfig({}).metrics).toBeNull();
    expect(loadConfig({ LATCH_METRICS: 'true', LATCH_METRICS_TOKEN: 'a'.repeat(32) }).metrics).toEqual({ token: 'a'.repeat(32) });
    expect(() => loadConfig({ LATCH_METRICS: 'true', LATCH_METRICS_TOKEN: `${'a'.repeat(32)} b` })).toThrow(/LATCH_METRICS_TOKEN/);
  });
});
