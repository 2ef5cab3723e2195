import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { createLogger } from '../src/logger.ts';
import { createTestApp, seedSignedInUser, TEST_ORIGIN } from './helpers/app.ts';

const t = await createTestApp();

describe('CSRF: state-changing requests must be same-origin JSON', () => {
  const post = (headers: Record<string, string>, body = '{}') => t.app.request('/api/sessions/revoke-others', { method: 'POST', headers, body });

  it('refuses text/plain (a form a foreign page can send without preflight)', async () => {
    const response = await post({ origin: TEST_ORIGIN, 'content-type': 'text/plain' });
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe('csrf_rejected');
  });

  it('refuses form encodings', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expect((await post({ origin: TEST_ORIGIN, 'content-type': type })).status).toBe(403);
    }
  });

  it('refuses application/json from a foreign Origin', async () => {
    const response = await post({ origin: 'https://evil.example', 'content-type': 'application/json' });
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe('csrf_rejected');
  });

  it('refuses Sec-Fetch-Site: cross-site and same-site even with our Origin', async () => {
    for (const site of ['cross-site', 'same-site']) {
      expect((await post({ origin: TEST_ORIGIN, 'sec-fetch-site': site, 'content-type': 'application/json' })).status).toBe(403);
    }
  });

  it('refuses a request that carries neither Origin nor Sec-Fetch-Site', async () => {
    expect((await post({ 'content-type': 'application/json' })).status).toBe(403);
  });

  it('refuses a cross-origin DELETE without a body', async () => {
    const response = await t.app.request('/api/session', { method: 'DELETE', headers: { origin: 'https://evil.example' } });
    expect(response.status).toBe(403);
  });

  it('lets same-origin JSON through to the route (which then asks for a session)', async () => {
    const response = await post({ origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json; charset=utf-8' });
    expect(response.status).toBe(401);
  });
});

describe('security headers', () => {
  it('are on every response, errors and static pages included', async () => {
    for (const path of ['/healthz', '/api/nope', '/api/session', '/']) {
      const headers = (await t.app.request(path)).headers;
      const csp = headers.get('content-security-policy')!;
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('API responses are not cached', async () => {
    expect((await t.app.request('/api/session')).headers.get('cache-control')).toBe('no-store');
  });
});

describe('bad input gets a clear 4xx, never a 500', () => {
  it('malformed JSON → 400 bad_request', async () => {
    const client = t.client();
    await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }, { kind: 'passkey' }] });
    const factors = await client.get('/api/factors');
    const response = await client.patch(`/api/factors/${factors.body[0].id}`, '{"label": ');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('bad_request');
  });

  it('wrong types and missing fields → 400 validation_failed naming the field, not echoing the value', async () => {
    const client = t.client();
    await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }, { kind: 'passkey' }] });
    const factors = await client.get('/api/factors');
    const tooLong = 'x'.repeat(500);
    const response = await client.patch(`/api/factors/${factors.body[0].id}`, { label: tooLong });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'validation_failed', issues: [expect.objectContaining({ path: 'label' })] });
    expect(JSON.stringify(response.body)).not.toContain(tooLong);
    expect((await client.patch(`/api/factors/${factors.body[0].id}`, {})).status).toBe(400);
    expect((await client.patch(`/api/factors/${factors.body[0].id}`, [1, 2])).status).toBe(400);
  });

  it('a malformed id in the path → 400', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const response = await client.delete('/api/sessions/not-a-uuid');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
  });

  it('a body over the size limit → 413', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const response = await client.patch('/api/factors/00000000-0000-4000-8000-000000000000', { label: 'x'.repeat(70_000) });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });

  it('an unknown API path → 404 JSON', async () => {
    const response = await t.client().get('/api/does-not-exist');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it('an unexpected failure → 500 with a request id and no detail; the log has no secret', async () => {
    const lines: string[] = [];
    const broken = await createTestApp({ logger: createLogger('debug', (line) => lines.push(line)) });
    const client = broken.client();
    await seedSignedInUser(broken, client);
    const token = client.sessionToken!;
    await broken.database.close(); // the database goes away under the app
    const response = await client.get('/api/session');
    expect(response.status).toBe(500);
    expect(response.body.error).toEqual({ code: 'internal_error', message: expect.any(String), requestId: expect.any(String) });
    expect(JSON.stringify(response.body)).not.toMatch(/ at |\.ts|sql|select/i);
    expect(lines.some((line) => line.includes(response.body.error.requestId))).toBe(true);
    expect(lines.join('\n')).not.toContain(token);
  });
});

describe('client address: X-Forwarded-For never skips anything', () => {
  it('is ignored unless LATCH_TRUST_PROXY is set', async () => {
    const app = createApp({ db: t.db, config: { ...t.config, trustProxy: false }, keyring: t.keyring, clock: t.clock, logger: t.logger });
    const client = t.client({ clientAddress: '192.0.2.99' }).via(app);
    const { user } = await seedSignedInUser(t, client);
    const sessions = await client.get('/api/sessions');
    expect(sessions.status).toBe(200);
    const response = await client.post('/api/sessions/revoke-others');
    expect(response.status).toBe(200);
    // In-process requests have no socket: untrusted, the header leaves no address at all.
    const audit = await t.db.selectFrom('audit_events').select('client_address').where('action', '=', 'session.revoke_others').where('actor_user_id', '=', user.id).execute();
    expect(audit).toEqual([{ client_address: null }]);
    // With the proxy trusted (the test app), the same header is the address.
    const trusted = t.client({ clientAddress: '192.0.2.98' });
    const other = await seedSignedInUser(t, trusted);
    expect((await trusted.post('/api/sessions/revoke-others')).status).toBe(200);
    expect(await t.db.selectFrom('audit_events').select('client_address').where('action', '=', 'session.revoke_others').where('actor_user_id', '=', other.user.id).execute()).toEqual([
      { client_address: '192.0.2.98' },
    ]);
  });

  it('debug-looking headers do not create a session', async () => {
    const sessionsBefore = await t.db.selectFrom('sessions').select('id').execute();
    const { user } = await seedSignedInUser(t, t.client());
    const response = await t.client().get('/api/session', { 'x-debug': '1', 'x-user-id': user.id, 'x-forwarded-user': user.username, 'x-original-url': '/healthz' });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthenticated');
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await t.db.selectFrom('sessions').select('id').execute()).toHaveLength(sessionsBefore.length + 1); // only the seeded one
  });
});

describe('operations endpoints', () => {
  it('/healthz and /readyz answer', async () => {
    expect(await (await t.app.request('/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await t.app.request('/readyz')).json()).toEqual({ status: 'ready' });
  });

  it('/openapi.json describes the routes from the same schemas they validate with; /api-docs renders it', async () => {
    const document = await (await t.app.request('/openapi.json')).json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/session', '/api/sessions', '/api/sessions/{id}', '/api/factors/{id}', '/api/audit', '/healthz']));
    expect(document.paths['/api/factors/{id}'].patch.requestBody.content['application/json'].schema.properties.label.maxLength).toBe(64);
    const page = await (await t.app.request('/api-docs')).text();
    expect(page).toContain('/api/sessions/revoke-others');
    expect(page).not.toMatch(/<script/i);
  });
});
