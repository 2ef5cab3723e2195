import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createTestApp } from './helpers/app.ts';
import { notTheCode, passwordStep, signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';

const TOKEN = 'metrics-token-0123456789abcdef0123456789';
const t = await createTestApp({ env: { LATCH_METRICS: 'true', LATCH_METRICS_TOKEN: TOKEN } });

async function scrape(): Promise<string> {
  const response = await t.client().get('/metrics', { authorization: `Bearer ${TOKEN}` });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.body as string;
}

/** The value of one series, e.g. value(text, 'latch_sign_ins_total', {method: 'totp', outcome: 'success'}). */
function value(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, label]) => `${key}="${label}"`);
  const line = text.split('\n').find((row) => row.startsWith(`${name}{`) && wanted.every((pair) => row.includes(pair)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('GET /metrics: off by default, never open on the public origin without the token', () => {
  it('without LATCH_METRICS it is an unknown path (404 JSON, not the sign-in page)', async () => {
    const off = await createTestApp();
    const response = await off.client().get('/metrics');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('LATCH_METRICS=true without a token, or with a short one, does not start', () => {
    expect(() => loadConfig({ LATCH_METRICS: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ LATCH_METRICS: 'true', LATCH_METRICS_TOKEN: 'short' })).toThrow(/LATCH_METRICS_TOKEN/);
  });

  it('anyone without the bearer token gets 401; a wrong or differently long token too', async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
      const response = await t.client().get('/metrics', authorization ? { authorization } : {});
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('unauthenticated');
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
    }
  });
});

describe('what /metrics counts', () => {
  it('requests per route pattern (never the raw path), sign-ins by method and outcome, lockouts, rate-limit refusals', async () => {
    const client = t.client({ clientAddress: '192.0.2.200' });
    const user = await signUpWithTotp(t, client);
    expect((await signInWithTotp(t, t.client({ clientAddress: '192.0.2.201' }), user)).status).toBe(200);

    // A path parameter: the series is named by the pattern, the id never appears.
    const sessions = await client.get('/api/sessions');
    const otherId = '00000000-0000-4000-8000-000000000abc';
    await client.delete(`/api/sessions/${otherId}`);
    expect(sessions.status).toBe(200);

    // Five wrong codes from one address: four failures, then the try that starts the lock; then a locked try.
    const attacker = t.client({ clientAddress: '192.0.2.202' });
    for (let i = 0; i < 5; i++) {
      await attacker.post('/api/signin/totp', { ticket: await passwordStep(attacker, user.username, user.password), code: notTheCode(user) });
    }
    const locked = await attacker.post('/api/signin/totp', { ticket: await passwordStep(attacker, user.username, user.password), code: user.code() });
    expect(locked.body.error.code).toBe('locked_out');

    // Passkey sign-in options are limited to 60 a minute per address.
    const flooder = t.client({ clientAddress: '192.0.2.203' });
    let refused = 0;
    for (let i = 0; i < 62; i++) if ((await flooder.post('/api/signin/passkey/options', {})).status === 429) refused++;
    expect(refused).toBeGreaterThan(0);

    const text = await scrape();
    expect(value(text, 'latch_sign_ins_total', { kind: 'sign_up', method: 'totp', outcome: 'success' })).toBe(1);
    expect(value(text, 'latch_sign_ins_total', { kind: 'sign_in', method: 'totp', outcome: 'success' })).toBe(1);
    expect(value(text, 'latch_sign_ins_total', { kind: 'sign_in', method: 'totp', outcome: 'failure' })).toBe(5);
    expect(value(text, 'latch_sign_ins_total', { kind: 'sign_in', method: 'totp', outcome: 'locked_out' })).toBe(1);
    expect(value(text, 'latch_lockouts_total', { route: '/api/signin/totp' })).toBe(1);
    expect(value(text, 'latch_locked_out_refusals_total', { route: '/api/signin/totp' })).toBe(1);
    expect(value(text, 'latch_rate_limit_refusals_total', { route: '/api/signin/passkey/options' })).toBe(refused);
    expect(value(text, 'latch_http_requests_total', { method: 'GET', route: '/api/sessions', status: '200' })).toBe(1);
    expect(value(text, 'latch_http_requests_total', { method: 'DELETE', route: '/api/sessions/:id' })).toBe(1);
    expect(value(text, 'latch_http_request_duration_seconds_count', { method: 'POST', route: '/api/signin/totp' })).toBe(7);
    expect(text).not.toContain(otherId);
    expect(text).not.toContain(user.username);
    expect(text).toContain('latch_process_resident_memory_bytes');
    if (t.database.kind === 'postgres') {
      expect(text).toMatch(/^latch_db_pool_connections \d+/m);
      expect(text).toMatch(/^latch_db_pool_waiting_requests \d+/m);
    }
  });
});
