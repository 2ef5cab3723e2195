import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { createTestApp, seedSignedInUser, TEST_ORIGIN, type TestApp } from './helpers/app.ts';
import { listening } from './helpers/nginx.ts';

/**
 * The request id and the security headers are added to responses after the route made them,
 * without rebuilding the response (the real server's cached-body fast path; see
 * src/http/middleware/request-context.ts `setResponseHeader`). In-process tests get plain
 * Response objects; this one goes through @hono/node-server on a real socket, where a header
 * set on the wrong object would be lost silently, or a body sent twice or not at all.
 */
describe('headers and bodies over a real socket', () => {
  let t: TestApp;
  let server: ServerType;
  let base: string;
  let cookie: string;

  beforeAll(async () => {
    t = await createTestApp();
    const client = t.client();
    await seedSignedInUser(t, client, { username: 'socket-user' });
    cookie = `${SESSION_COOKIE}=${client.sessionToken}`;
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
    base = `http://127.0.0.1:${await listening(server)}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  function expectProtected(response: Response, api: boolean) {
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('strict-transport-security')).toContain('max-age=');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    // (The pages' full policy is test/http.middleware-scope.test.ts's subject, in an isolated worker.)
    if (api) expect(response.headers.get('cache-control')).toBe('no-store');
  }

  it('a session check: the whole JSON body, a request id of its own, every security header', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${base}/api/session`, { headers: { cookie } });
      expect(response.status).toBe(200);
      expectProtected(response, true);
      ids.add(response.headers.get('x-request-id')!);
      const body = await response.json();
      expect(body.user.username).toBe('socket-user');
      expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(JSON.stringify(body)));
    }
    expect(ids.size).toBe(3);
  });

  it('refusals too: 401 without a session, 403 for a cross-site write, 404 for an unknown API path', async () => {
    const anonymous = await fetch(`${base}/api/session`);
    expect(anonymous.status).toBe(401);
    expectProtected(anonymous, true);
    expect((await anonymous.json()).error.code).toBe('unauthenticated');

    const crossSite = await fetch(`${base}/api/session`, { method: 'DELETE', headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expectProtected(crossSite, true);
    expect((await crossSite.json()).error.code).toBe('csrf_rejected');

    const unknown = await fetch(`${base}/api/no-such-thing`, { headers: { origin: TEST_ORIGIN } });
    expect(unknown.status).toBe(404);
    expectProtected(unknown, true);
  });

  it('an oversized body is still refused before it is read (413), and a page carries the headers', async () => {
    const big = await fetch(`${base}/api/signup/passkey/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ username: 'x'.repeat(100 * 1024) }),
    });
    expect(big.status).toBe(413);
    expectProtected(big, true);

    const page = await fetch(`${base}/signin`);
    expect(page.status).toBe(200);
    expectProtected(page, false);
    expect(await page.text()).toContain('<html');
  });
});
