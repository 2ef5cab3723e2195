import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { securityHeaders } from '../src/http/middleware/security-headers.ts';
import { createTestApp } from './helpers/app.ts';

const t = await createTestApp();

/** What a cross-site form post sends: a simple content type, a foreign Origin, no session. */
const formPost = (path: string) =>
  t.app.request(path, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=authorization_code',
  });

describe('global middleware is scoped to what it protects (room for /oidc/*, /forward-auth under their own paths)', () => {
  it('the same-origin JSON gate guards /api/* only: a form post elsewhere reaches routing (404 not_found, not csrf_rejected)', async () => {
    for (const path of ['/oidc/token', '/forward-auth', '/signin']) {
      const response = await formPost(path);
      expect(response.status, path).toBe(404);
      expect((await response.json()).error.code, path).toBe('not_found');
    }
  });

  it('every /api/* POST still meets the gate, known route or not', async () => {
    for (const path of ['/api/session/nothing-here', '/api/sessions/revoke-others', '/api/signin/password']) {
      const response = await formPost(path);
      expect(response.status, path).toBe(403);
      expect((await response.json()).error.code, path).toBe('csrf_rejected');
    }
  });

  it('pages, the API and the docs carry the pages CSP; everything else at least forbids framing', async () => {
    const pageCsp = (headers: Headers) => headers.get('content-security-policy');
    const expected = pageCsp((await t.app.request('/api/session')).headers)!;
    expect(expected).toContain("script-src 'self'");
    expect(expected).toContain("frame-ancestors 'none'");
    expect(expected).not.toContain('unsafe-inline');
    for (const path of ['/', '/signin', '/signup', '/account', '/some/client/route', '/styles.css', '/build/signin.page.js', '/api-docs', '/openapi.json', '/healthz', '/readyz', '/api/nope']) {
      expect(pageCsp((await t.app.request(path)).headers), path).toBe(expected);
    }
    // Nothing is mounted elsewhere yet, so this falls through to the pages' 404; what every response carries:
    const elsewhere = (await formPost('/oidc/token')).headers;
    expect(elsewhere.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(elsewhere.get('x-frame-options')).toBe('DENY');
    expect(elsewhere.get('x-content-type-options')).toBe('nosniff');
    expect(elsewhere.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(elsewhere.get('referrer-policy')).toBe('no-referrer');
  });

  it('a route with a policy of its own keeps it (e.g. a form_post page with its inline auto-submit), framing still forbidden', async () => {
    const app = new Hono();
    app.use('*', securityHeaders());
    app.get('/own', (c) => c.html('<form></form>', 200, { 'content-security-policy': "script-src 'sha256-abc'" }));
    app.get('/framable-by-mistake', (c) => c.html('<p></p>', 200, { 'content-security-policy': "default-src 'none'; frame-ancestors *" }));
    expect((await app.request('/own')).headers.get('content-security-policy')).toBe("script-src 'sha256-abc'; frame-ancestors 'none'");
    const other = (await app.request('/framable-by-mistake')).headers;
    expect(other.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors *");
    expect(other.get('x-frame-options')).toBe('DENY');
  });
});
