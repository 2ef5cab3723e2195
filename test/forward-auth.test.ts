import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { SESSION_COOKIE, SHARED_SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { revokeSession } from '../src/sessions/sessions.ts';
import { createTestApp, seedSignedInUser, type TestApp, type TestClient } from './helpers/app.ts';

const ORIGIN = 'https://auth.example.com';

function rulesFile(rules: unknown): string {
  const folder = mkdtempSync(join(tmpdir(), 'latch-fa-'));
  const path = join(folder, 'rules.json');
  writeFileSync(path, JSON.stringify({ rules }));
  return path;
}

const nginx = (url: string) => ({ 'x-original-url': url });
const traefik = (host: string, uri: string) => ({ 'x-forwarded-proto': 'https', 'x-forwarded-host': host, 'x-forwarded-uri': uri, 'x-forwarded-method': 'GET' });

async function addToGroup(t: TestApp, userId: string, name: string) {
  const now = t.clock.now();
  const group = await t.db.insertInto('groups').values({ name, created_at: now, updated_at: now, passkey_deadline: null, retire_totp_after_passkey_sign_ins: null }).onConflict((oc) => oc.column('name').doUpdateSet({ updated_at: now })).returning('id').executeTakeFirstOrThrow();
  await t.db.insertInto('group_members').values({ group_id: group.id, user_id: userId, added_at: now }).execute();
}

describe('forward-auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        LATCH_ORIGINS: ORIGIN,
        LATCH_COOKIE_DOMAIN: 'example.com',
        LATCH_FORWARD_AUTH_RULES_FILE: rulesFile([
          { host: 'grafana.example.com', groups: ['ops'] },
          { host: 'vault.example.com', path: '/admin', phishingResistant: true },
          { host: '*.secure.example.com', phishingResistant: true, maxAgeSeconds: 600 },
        ]),
      },
    });
  });

  async function signedIn(options: Parameters<typeof seedSignedInUser>[2] = {}): Promise<{ client: TestClient; userId: string; sessionId: string }> {
    const client = t.client();
    const { user, sessionId } = await seedSignedInUser(t, client, options);
    // The shared-domain cookie is the session cookie in this configuration.
    client.cookies.set(SHARED_SESSION_COOKIE, client.cookies.get(SESSION_COOKIE)!);
    client.cookies.delete(SESSION_COOKIE);
    return { client, userId: user.id, sessionId };
  }

  it('signed out, nginx: 401 with the sign-in URL (and the way back) in Location', async () => {
    const response = await t.client().get('/api/forward-auth', nginx('https://wiki.example.com/page?x=1'));
    expect(response.status).toBe(401);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${ORIGIN}/signin`);
    expect(location.searchParams.get('next')).toBe(`/continue?rd=${encodeURIComponent('https://wiki.example.com/page?x=1')}`);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('signed out, Traefik/Caddy: a 302 to sign in', async () => {
    const response = await t.client().get('/api/forward-auth', traefik('wiki.example.com', '/docs'));
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!).searchParams.get('next')).toBe(`/continue?rd=${encodeURIComponent('https://wiki.example.com/docs')}`);
  });

  it('forward-auth.open-redirect: a URL off the configured domains is never a way back', async () => {
    for (const url of ['https://evil.test/', 'https://example.com.evil.test/', 'https://notexample.com/', 'https://example.com@evil.test/', 'ftp://wiki.example.com/']) {
      const response = await t.client().get('/api/forward-auth', nginx(url));
      expect(response.status, url).toBe(401);
      expect(response.headers.get('location'), url).toBe(`${ORIGIN}/signin`);
    }
    const { client } = await signedIn();
    for (const target of ['https://evil.test/', 'https://example.com.evil.test/x', 'javascript:alert(1)', '//evil.test/', 'http://wiki.example.com/']) {
      const response = await client.post('/api/forward-auth/continue', { target }, { origin: ORIGIN });
      expect(response.status, target).toBe(400);
      expect(response.body.error.code, target).toBe('redirect_not_allowed');
    }
  });

  it('signed in: 200 with who it is and how they proved it; only a confirmed email', async () => {
    const { client, userId } = await signedIn({ username: 'ada', proof: { amr: ['pwd', 'otp'], aal: 2, phishingResistant: false } });
    await t.db.updateTable('users').set({ display_name: 'Ada Lovelace', email: 'ada@example.com', email_verified_at: null }).where('id', '=', userId).execute();
    await addToGroup(t, userId, 'staff');
    await addToGroup(t, userId, 'ops');
    const response = await client.get('/api/forward-auth', nginx('https://wiki.example.com/'));
    expect(response.status).toBe(200);
    expect(response.headers.get('remote-user')).toBe('ada');
    expect(response.headers.get('remote-name')).toBe('Ada Lovelace');
    expect(response.headers.get('remote-email')).toBe('');
    expect(response.headers.get('remote-groups')).toBe('ops,staff');
    expect(response.headers.get('remote-aal')).toBe('2');
    expect(response.headers.get('remote-phishing-resistant')).toBe('false');
    expect(response.headers.get('remote-amr')).toBe('pwd,otp');
    expect(response.headers.get('cache-control')).toBe('no-store');

    await t.db.updateTable('users').set({ email_verified_at: t.clock.now() }).where('id', '=', userId).execute();
    expect((await client.get('/api/forward-auth', nginx('https://wiki.example.com/'))).headers.get('remote-email')).toBe('ada@example.com');
  });

  it('a display name outside ASCII reaches the app as UTF-8 bytes', async () => {
    const { client, userId } = await signedIn();
    await t.db.updateTable('users').set({ display_name: 'Zoë Ørsted' }).where('id', '=', userId).execute();
    const response = await client.get('/api/forward-auth', nginx('https://wiki.example.com/'));
    expect(response.status).toBe(200);
    expect(Buffer.from(response.headers.get('remote-name')!, 'latin1').toString('utf8')).toBe('Zoë Ørsted');
  });

  it('forward-auth.group-rule: a user outside the rule\'s groups is refused; a member passes', async () => {
    const outsider = await signedIn();
    expect((await outsider.client.get('/api/forward-auth', nginx('https://grafana.example.com/d/1'))).status).toBe(403);
    expect((await outsider.client.post('/api/forward-auth/continue', { target: 'https://grafana.example.com/d/1' }, { origin: ORIGIN })).body.error).toMatchObject({ code: 'forbidden', reason: 'not_in_group' });
    const member = await signedIn();
    await addToGroup(t, member.userId, 'ops');
    expect((await member.client.get('/api/forward-auth', nginx('https://grafana.example.com/d/1'))).status).toBe(200);
  });

  it('forward-auth.port-bypass: the same host on another port is under the same rule', async () => {
    const outsider = await signedIn();
    for (const url of ['https://grafana.example.com:8443/d/1', 'https://GRAFANA.Example.com:9000/d/1', 'https://grafana.example.com:443/d/1']) {
      expect((await outsider.client.get('/api/forward-auth', nginx(url))).status, url).toBe(403);
      expect((await outsider.client.post('/api/forward-auth/continue', { target: url }, { origin: ORIGIN })).body.error, url).toMatchObject({ code: 'forbidden' });
    }
  });

  it('forward-auth.restricted-session: a session the passkey rollout restricted reaches no app; it is sent to the sign-in page', async () => {
    const { client, sessionId } = await signedIn();
    expect((await client.get('/api/forward-auth', nginx('https://wiki.example.com/page'))).status).toBe(200);
    await t.db.updateTable('sessions').set({ restricted_reason: 'passkey_required' }).where('id', '=', sessionId).execute();
    const nginxAnswer = await client.get('/api/forward-auth', nginx('https://wiki.example.com/page'));
    expect(nginxAnswer.status).toBe(401);
    expect(nginxAnswer.headers.get('remote-user')).toBeNull();
    expect(new URL(nginxAnswer.headers.get('location')!).pathname).toBe('/signin');
    const traefikAnswer = await client.get('/api/forward-auth', traefik('wiki.example.com', '/page'));
    expect(traefikAnswer.status).toBe(302);
    expect(traefikAnswer.headers.get('remote-user')).toBeNull();
    // The continue step refuses too, with the code the page turns into the sign-in page.
    expect((await client.post('/api/forward-auth/continue', { target: 'https://wiki.example.com/page' }, { origin: ORIGIN })).body.error).toMatchObject({ code: 'passkey_required' });
  });

  it('forward-auth.phishing-resistant-rule: a password + TOTP session is sent to step up with a passkey, through the policy engine', async () => {
    const { client, sessionId } = await signedIn({
      factors: [{ kind: 'password' }, { kind: 'totp' }, { kind: 'passkey', user_verified: true }],
      proof: { amr: ['pwd', 'otp'], aal: 2, phishingResistant: false },
    });
    // Not the protected path: a live session is enough.
    expect((await client.get('/api/forward-auth', nginx('https://vault.example.com/ui'))).status).toBe(200);
    // "/administrator" is not under "/admin".
    expect((await client.get('/api/forward-auth', nginx('https://vault.example.com/administrator'))).status).toBe(200);

    const nginxAnswer = await client.get('/api/forward-auth', nginx('https://vault.example.com/admin/keys'));
    expect(nginxAnswer.status).toBe(401);
    expect(nginxAnswer.headers.get('location')).toBe(`${ORIGIN}/continue?rd=${encodeURIComponent('https://vault.example.com/admin/keys')}`);
    const traefikAnswer = await client.get('/api/forward-auth', traefik('vault.example.com', '/admin'));
    expect(traefikAnswer.status).toBe(302);

    const refused = await client.post('/api/forward-auth/continue', { target: 'https://vault.example.com/admin/keys' }, { origin: ORIGIN });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });

    // What a passkey step-up with user verification records (sessions.rotateSession): now the rule is met.
    await t.db.updateTable('sessions').set({ phishing_resistant: true, stepped_up_at: t.clock.now(), last_verified_at: t.clock.now(), passkey_verified_at: t.clock.now() }).where('id', '=', sessionId).execute();
    expect((await client.get('/api/forward-auth', nginx('https://vault.example.com/admin/keys'))).status).toBe(200);
    const allowed = await client.post('/api/forward-auth/continue', { target: 'https://vault.example.com/admin/keys' }, { origin: ORIGIN });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({ location: 'https://vault.example.com/admin/keys' });
  });

  it('a rule with maxAgeSeconds asks again once the proof is older', async () => {
    const { client } = await signedIn();
    expect((await client.get('/api/forward-auth', nginx('https://db.secure.example.com/'))).status).toBe(200);
    t.clock.advance(601);
    expect((await client.get('/api/forward-auth', nginx('https://db.secure.example.com/'))).status).toBe(401);
    t.clock.advance(-601);
  });

  it('a user with no passkey that verifies them is told so, not looped through a step-up', async () => {
    const { client } = await signedIn({ factors: [{ kind: 'password' }, { kind: 'totp' }], proof: { amr: ['pwd', 'otp'], aal: 2, phishingResistant: false } });
    const response = await client.post('/api/forward-auth/continue', { target: 'https://vault.example.com/admin' }, { origin: ORIGIN });
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'forbidden', reason: 'no_step_up_method' });
  });

  it('forward-auth.revoked-session: a session ended elsewhere is refused at once, and so is a disabled user', async () => {
    const first = await signedIn();
    expect((await first.client.get('/api/forward-auth', nginx('https://wiki.example.com/'))).status).toBe(200);
    await revokeSession(t.db, first.sessionId, 'signed_out', t.clock.now());
    expect((await first.client.get('/api/forward-auth', nginx('https://wiki.example.com/'))).status).toBe(401);

    const second = await signedIn();
    await t.db.updateTable('users').set({ status: 'disabled', disabled_at: t.clock.now() }).where('id', '=', second.userId).execute();
    expect((await second.client.get('/api/forward-auth', nginx('https://wiki.example.com/'))).status).toBe(401);
  });

  it('continue without a session answers unauthenticated (the page then sends the browser to sign in)', async () => {
    const response = await t.client().post('/api/forward-auth/continue', { target: 'https://wiki.example.com/' }, { origin: ORIGIN });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthenticated');
  });

  it('with LATCH_COOKIE_DOMAIN the session cookie is __Secure- on the parent domain, and the __Host- one is not read', async () => {
    const { client } = await signedIn();
    expect((await client.get('/api/session')).status).toBe(200);
    const hostOnly = t.client();
    hostOnly.cookies.set(SESSION_COOKIE, client.cookies.get(SHARED_SESSION_COOKIE)!);
    expect((await hostOnly.get('/api/session')).status).toBe(401);
    const signOut = await client.delete('/api/session', { origin: ORIGIN });
    expect(signOut.status).toBeLessThan(300);
    const cleared = signOut.headers.getSetCookie().find((cookie) => cookie.startsWith(`${SHARED_SESSION_COOKIE}=`));
    expect(cleared).toMatch(/Domain=example\.com/i);
    expect(cleared).toMatch(/Secure/);
    expect(cleared).toMatch(/HttpOnly/);
  });
});

describe('forward-auth configuration', () => {
  it('refuses a cookie domain that is not the origin\'s host or a parent of it', () => {
    expect(() => loadConfig({ LATCH_ORIGINS: ORIGIN, LATCH_COOKIE_DOMAIN: 'other.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ LATCH_ORIGINS: ORIGIN, LATCH_COOKIE_DOMAIN: 'https://example.com' })).toThrow(ConfigError);
    expect(loadConfig({ LATCH_ORIGINS: ORIGIN, LATCH_COOKIE_DOMAIN: 'example.com' }).forwardAuth.domains).toEqual(['example.com']);
    expect(loadConfig({ LATCH_ORIGINS: ORIGIN }).forwardAuth.domains).toEqual(['auth.example.com']);
  });

  it('refuses a rules file that is missing or malformed, naming the problem', () => {
    expect(() => loadConfig({ LATCH_ORIGINS: ORIGIN, LATCH_FORWARD_AUTH_RULES_FILE: '/nonexistent/rules.json' })).toThrow(/LATCH_FORWARD_AUTH_RULES_FILE/);
    expect(() => loadConfig({ LATCH_ORIGINS: ORIGIN, LATCH_FORWARD_AUTH_RULES_FILE: rulesFile([{ host: 'https://x.example.com' }]) })).toThrow(/rules\.0\.host/);
    expect(() => loadConfig({ LATCH_ORIGINS: ORIGIN, LATCH_FORWARD_AUTH_RULES_FILE: rulesFile([{ host: 'x.example.com', everyone: true }]) })).toThrow(ConfigError);
  });
});
