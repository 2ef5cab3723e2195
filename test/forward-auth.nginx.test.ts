import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser, type TestApp } from './helpers/app.ts';
import { get as getAs, haveNginx, listening, startProtectedApp, type ProtectedApp } from './helpers/nginx.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';

/** A GET through nginx as a browser on app.example.com would send it; redirects are not followed. */
const get = (port: number, path: string, headers: Record<string, string> = {}) => getAs(port, path, { host: 'app.example.com', ...headers });

describe.runIf(haveNginx())('forward-auth behind a real nginx (auth_request)', () => {
  let t: TestApp;
  let latch: ServerType;
  let app: ProtectedApp;
  let nginxPort: number;

  beforeAll(async () => {
    t = await createTestApp({ env: { LATCH_FORWARD_AUTH_DOMAINS: 'example.com' } });
    latch = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
    app = await startProtectedApp({ latchPort: await listening(latch), serverName: 'app.example.com' });
    nginxPort = app.port;
  });

  afterAll(async () => {
    await app?.close();
    latch?.close();
  });

  it('signed out: nginx redirects the browser to Latch\'s sign-in, with the way back', async () => {
    const response = await get(nginxPort, '/reports?q=1');
    expect(response.status).toBe(302);
    const location = new URL(String(response.headers.location));
    expect(location.origin + location.pathname).toBe(`${t.config.origins[0]}/signin`);
    expect(location.searchParams.get('next')).toBe(`/continue?rd=${encodeURIComponent(`http://app.example.com/reports?q=1`)}`);
    expect(response.body).not.toContain('"user"');
  });

  it('signed in: the app is reached, with who the user is and how they proved it', async () => {
    const client = t.client();
    const { user } = await seedSignedInUser(t, client, { username: 'grace' });
    const response = await get(nginxPort, '/reports', { cookie: `${SESSION_COOKIE}=${client.sessionToken}` });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ path: '/reports', user: user.username, groups: null, aal: '2', phishingResistant: 'true' });
  });

  it('forward-auth.header-spoofing: identity headers the browser sends never reach the app', async () => {
    const client = t.client();
    await seedSignedInUser(t, client, { username: 'mallory' });
    const response = await get(nginxPort, '/', { cookie: `${SESSION_COOKIE}=${client.sessionToken}`, 'remote-user': 'admin', 'remote-groups': 'admins' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ user: 'mallory', groups: null });
  });
});
