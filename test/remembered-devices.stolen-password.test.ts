import { describe, expect, it } from 'vitest';
import { DEVICE_COOKIE } from '../src/http/device-cookie.ts';
import { createTestApp, type TestClient } from './helpers/app.ts';
import { passwordStep, signInWithTotp, signUpWithTotp, type FallbackUser } from './helpers/fallback.ts';

const t = await createTestApp();

/** A browser that ticked "remember this browser" at a password + TOTP sign-in. */
async function rememberedBrowser(user: FallbackUser, address = '203.0.113.50'): Promise<TestClient> {
  const browser = t.client({ clientAddress: address });
  const response = await signInWithTotp(t, browser, user, { rememberDevice: true });
  expect(response.status).toBe(200);
  const cookie = response.headers.getSetCookie().find((header) => header.startsWith(`${DEVICE_COOKIE}=`))!;
  expect(cookie).toMatch(/; Max-Age=2592000/);
  expect(cookie).toMatch(/; Path=\//);
  expect(cookie).toMatch(/; HttpOnly/);
  expect(cookie).toMatch(/; Secure/);
  expect(cookie).not.toMatch(/Domain=/i);
  return browser;
}

async function signOut(client: TestClient) {
  expect((await client.delete('/api/session')).status).toBe(204);
}

describe('remembered devices: a stolen password is not enough elsewhere', () => {
  it('on the remembered browser a right password signs in without a code; the session says so', async () => {
    const user = await signUpWithTotp(t, t.client());
    const browser = await rememberedBrowser(user);
    await signOut(browser);
    const response = await browser.post('/api/signin/password', { username: user.username, password: user.password });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ user: expect.objectContaining({ id: user.userId }), rollout: null });
    expect((await browser.get('/api/session')).body.session).toMatchObject({ aal: 2, amr: ['pwd', 'remembered_device'], phishingResistant: false });
    const session = await t.db.selectFrom('sessions').select('remembered_device_id').where('user_id', '=', user.userId).where('revoked_at', 'is', null).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    expect(session.remembered_device_id).not.toBeNull();
  });

  it('a wrong password on the remembered browser still gets only a ticket', async () => {
    const user = await signUpWithTotp(t, t.client());
    const browser = await rememberedBrowser(user);
    await signOut(browser);
    const response = await browser.post('/api/signin/password', { username: user.username, password: 'wrong password here' });
    expect(response.body).toEqual({ ticket: expect.any(String), methods: ['totp', 'backup_code'] });
    expect((await browser.get('/api/session')).status).toBe(401);
  });

  it('the cookie is bound to its user and its browser: another user, or a copied wrong token, still needs a code', async () => {
    const alice = await signUpWithTotp(t, t.client());
    const bob = await signUpWithTotp(t, t.client());
    const browser = await rememberedBrowser(alice);
    await signOut(browser);
    const asBob = await browser.post('/api/signin/password', { username: bob.username, password: bob.password });
    expect(asBob.body.ticket).toEqual(expect.any(String));
    const forged = t.client();
    forged.cookies.set(DEVICE_COOKIE, 'A'.repeat(43));
    expect((await forged.post('/api/signin/password', { username: alice.username, password: alice.password })).body.ticket).toEqual(expect.any(String));
  });

  it('it expires after 30 days', async () => {
    const user = await signUpWithTotp(t, t.client());
    const browser = await rememberedBrowser(user);
    await signOut(browser);
    t.clock.advance(30 * 24 * 60 * 60 + 1);
    expect((await browser.post('/api/signin/password', { username: user.username, password: user.password })).body.ticket).toEqual(expect.any(String));
  });

  it('listed with browser, created and last used; forgotten one by one and all at once, audited', async () => {
    const user = await signUpWithTotp(t, t.client());
    const first = await rememberedBrowser(user, '203.0.113.61');
    const second = await rememberedBrowser(user, '203.0.113.62');
    await rememberedBrowser(user, '203.0.113.63');
    const list = await second.get('/api/remembered-devices');
    expect(list.status).toBe(200);
    expect(list.body.devices).toHaveLength(3);
    expect(list.body.devices.filter((device: { current: boolean }) => device.current)).toHaveLength(1);
    expect(list.body.devices[0]).toMatchObject({ browser: expect.any(String), createdAt: expect.any(String), lastUsedAt: null, expiresAt: expect.any(String) });

    const firstId = (await first.get('/api/remembered-devices')).body.devices.find((device: { current: boolean }) => device.current).id;
    const one = await second.delete(`/api/remembered-devices/${firstId}`);
    expect(one.body).toEqual({ forgotten: 1 });
    expect((await second.delete(`/api/remembered-devices/${firstId}`)).status).toBe(404);
    await signOut(first);
    expect((await first.post('/api/signin/password', { username: user.username, password: user.password })).body.ticket).toEqual(expect.any(String));

    const all = await second.delete('/api/remembered-devices');
    expect(all.body).toEqual({ forgotten: 2 });
    expect((await second.get('/api/remembered-devices')).body.devices).toEqual([]);
    const audit = await t.db.selectFrom('audit_events').select('action').where('subject_user_id', '=', user.userId).where('action', 'like', 'remembered_device.%').execute();
    expect(audit.map((row) => row.action).sort()).toEqual(['remembered_device.add', 'remembered_device.add', 'remembered_device.add', 'remembered_device.forget', 'remembered_device.forget']);
  });

  it('all are forgotten when the password changes', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    const browser = await rememberedBrowser(user);
    await signOut(browser);
    const changed = await client.post('/api/factors/password', { newPassword: 'a brand new passphrase' });
    expect(changed.status).toBe(200);
    expect((await browser.post('/api/signin/password', { username: user.username, password: 'a brand new passphrase' })).body.ticket).toEqual(expect.any(String));
  });

  it('all are forgotten when TOTP is removed', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    const browser = await rememberedBrowser(user);
    await signOut(browser);
    t.clock.advance(30);
    expect((await client.post('/api/step-up/totp', { code: user.code() })).status).toBe(200);
    const totp = (await client.get('/api/factors')).body.find((factor: { kind: string }) => factor.kind === 'totp');
    expect((await client.delete(`/api/factors/${totp.id}`)).status).toBe(200);
    expect((await browser.post('/api/signin/password', { username: user.username, password: user.password })).body.ticket).toEqual(expect.any(String));
  });

  it('all are forgotten on recovery with a backup code', async () => {
    const user = await signUpWithTotp(t, t.client());
    const browser = await rememberedBrowser(user);
    await signOut(browser);
    const elsewhere = t.client({ clientAddress: '198.51.100.200' });
    const ticket = await passwordStep(elsewhere, user.username, user.password);
    expect((await elsewhere.post('/api/signin/backup-code', { ticket, code: user.backupCodes[0] })).status).toBe(200);
    expect((await browser.post('/api/signin/password', { username: user.username, password: user.password })).body.ticket).toEqual(expect.any(String));
  });
});
