import { describe, expect, it } from 'vitest';
import { rotateSession } from '../src/sessions/sessions.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp();

describe('sessions', () => {
  it('GET /api/session answers 401 without a cookie and the session with one', async () => {
    expect((await t.client().get('/api/session')).status).toBe(401);
    const client = t.client();
    const { user } = await seedSignedInUser(t, client);
    const response = await client.get('/api/session');
    expect(response.status).toBe(200);
    expect(response.body.user.id).toBe(user.id);
    expect(response.body.session).toMatchObject({ aal: 2, phishingResistant: true, amr: ['passkey', 'uv'], steppedUpAt: null });
  });

  it('tokens carry 256 random bits and only their keyed hash is stored', async () => {
    const client = t.client();
    const { sessionId } = await seedSignedInUser(t, client);
    const token = client.sessionToken!;
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    const row = await t.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('idle lifetime: an hour without activity ends the session; activity keeps it alive', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    t.clock.advance(50 * 60);
    expect((await client.get('/api/session')).status).toBe(200); // activity slides the idle expiry
    t.clock.advance(50 * 60);
    expect((await client.get('/api/session')).status).toBe(200);
    t.clock.advance(61 * 60);
    expect((await client.get('/api/session')).status).toBe(401);
  });

  it('absolute lifetime: 24 hours end the session however active it was', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    for (let hour = 0; hour < 23; hour++) {
      t.clock.advance(59 * 60);
      expect((await client.get('/api/session')).status).toBe(200);
    }
    t.clock.advance(62 * 60); // now past 24 h from creation, though last seen an hour ago
    expect((await client.get('/api/session')).status).toBe(401);
  });

  it('rotation: after a token rotates, the old token answers 401 and the new one works', async () => {
    const client = t.client();
    const { sessionId } = await seedSignedInUser(t, client);
    const oldToken = client.sessionToken!;
    const rotated = await rotateSession(t.db, t.keyring, sessionId, t.clock.now());
    expect(rotated?.token).toBeDefined();
    expect(rotated!.token).not.toBe(oldToken);
    expect((await client.get('/api/session')).status).toBe(401);
    client.cookies.set(SESSION_COOKIE, rotated!.token);
    expect((await client.get('/api/session')).status).toBe(200);
  });

  it('sign out, then the old cookie answers 401', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const token = client.sessionToken!;
    const response = await client.delete('/api/session');
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie().join()).toMatch(new RegExp(`${SESSION_COOKIE}=;.*Max-Age=0`));
    client.cookies.set(SESSION_COOKIE, token);
    expect((await client.get('/api/session')).status).toBe(401);
  });

  it('lists live sessions with the current one marked; ends one; ends all others', async () => {
    const laptop = t.client();
    const { user } = await seedSignedInUser(t, laptop, { username: 'multi-device' });
    const phone = t.client({ clientAddress: '198.51.100.20' });
    const tablet = t.client({ clientAddress: '198.51.100.21' });
    for (const other of [phone, tablet]) {
      const seeded = await seedSignedInUser(t, other, { username: `throwaway-${Math.random()}` });
      // re-point the seeded session at the same user, so all three belong to `user`
      await t.db.updateTable('sessions').set({ user_id: user.id }).where('id', '=', seeded.sessionId).execute();
    }
    const list = await laptop.get('/api/sessions');
    expect(list.status).toBe(200);
    expect(list.body.sessions).toHaveLength(3);
    expect(list.body.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const phoneSession = list.body.sessions.find((s: { clientAddress: string }) => s.clientAddress === '198.51.100.20');

    expect((await laptop.delete(`/api/sessions/${phoneSession.id}`)).status).toBe(204);
    expect((await phone.get('/api/session')).status).toBe(401);
    expect((await laptop.delete(`/api/sessions/${phoneSession.id}`)).status).toBe(404);

    const revoked = await laptop.post('/api/sessions/revoke-others');
    expect(revoked.body).toEqual({ ended: 1 });
    expect((await tablet.get('/api/session')).status).toBe(401);
    expect((await laptop.get('/api/session')).status).toBe(200);
  });

  it("cannot end another user's session", async () => {
    const mallory = t.client();
    const victim = t.client();
    await seedSignedInUser(t, mallory);
    const { sessionId } = await seedSignedInUser(t, victim);
    expect((await mallory.delete(`/api/sessions/${sessionId}`)).status).toBe(404);
    expect((await victim.get('/api/session')).status).toBe(200);
  });

  it("a disabled account's sessions answer 401", async () => {
    const client = t.client();
    const { user } = await seedSignedInUser(t, client);
    await t.db.updateTable('users').set({ status: 'disabled', disabled_at: t.clock.now() }).where('id', '=', user.id).execute();
    expect((await client.get('/api/session')).status).toBe(401);
  });

  it('a stale session must step up before ending all other sessions', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    t.clock.advance(20 * 60);
    const response = await client.post('/api/sessions/revoke-others');
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 900 });
  });

  it('sets the cookie __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ and without Domain', async () => {
    const { setSessionCookie } = await import('../src/http/session-cookie.ts');
    const { Hono } = await import('hono');
    const app = new Hono().get('/', (c) => {
      setSessionCookie(c, 'token', new Date(Date.now() + 3600_000), new Date());
      return c.text('ok');
    });
    const cookie = (await app.request('/')).headers.get('set-cookie')!;
    expect(cookie).toMatch(/^__Host-latch_session=token;/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).not.toMatch(/Domain=/i);
  });
});
