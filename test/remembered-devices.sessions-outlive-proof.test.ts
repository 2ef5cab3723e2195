import { describe, expect, it } from 'vitest';
import { createTestApp, type TestClient } from './helpers/app.ts';
import { passwordStep, signInWithTotp, signUpWithTotp, type FallbackUser } from './helpers/fallback.ts';

const t = await createTestApp();

/**
 * Issue 10, finding 4: forgetting remembered browsers, removing the authenticator app and a
 * backup-code recovery forgot the devices but left the sessions those browsers had opened alive.
 */

/** A browser that was remembered, signed out, and signed in again by password alone (the device stood in for the code). */
async function sessionThroughRememberedBrowser(user: FallbackUser, address: string): Promise<TestClient> {
  const browser = t.client({ clientAddress: address });
  expect((await signInWithTotp(t, browser, user, { rememberDevice: true })).status).toBe(200);
  expect((await browser.delete('/api/session')).status).toBe(204);
  const again = await browser.post('/api/signin/password', { username: user.username, password: user.password });
  expect(again.body.user?.id).toBe(user.userId);
  expect((await browser.get('/api/session')).body.session.amr).toEqual(['pwd', 'remembered_device']);
  return browser;
}

/** The owner's own session, stepped up so the policy allows the sensitive action now. */
async function freshOwner(user: FallbackUser): Promise<TestClient> {
  const owner = t.client({ clientAddress: '198.51.100.1' });
  expect((await signInWithTotp(t, owner, user)).status).toBe(200);
  return owner;
}

describe('a remembered browser does not stay signed in after what was meant to cut it off', () => {
  it('"forget all remembered browsers" ends the sessions they opened, not the one asking', async () => {
    const user = await signUpWithTotp(t, t.client());
    const thief = await sessionThroughRememberedBrowser(user, '192.0.2.201');
    const owner = await freshOwner(user);
    expect((await owner.delete('/api/remembered-devices')).body).toEqual({ forgotten: 1 });
    expect((await thief.get('/api/session')).status).toBe(401);
    expect((await owner.get('/api/session')).status).toBe(200);
    const ended = await t.db.selectFrom('sessions').select('revoked_reason').where('user_id', '=', user.userId).where('remembered_device_id', 'is not', null).execute();
    expect(ended.map((row) => row.revoked_reason)).toEqual(['device_forgotten']);
  });

  it('forgetting one browser ends its sessions only', async () => {
    const user = await signUpWithTotp(t, t.client());
    const first = await sessionThroughRememberedBrowser(user, '192.0.2.202');
    const second = await sessionThroughRememberedBrowser(user, '192.0.2.203');
    const owner = await freshOwner(user);
    const devices = (await owner.get('/api/remembered-devices')).body.devices as Array<{ id: string; createdAt: string }>;
    const firstDevice = await t.db.selectFrom('sessions').select('remembered_device_id').where('user_id', '=', user.userId).where('client_address', '=', '192.0.2.202').where('remembered_device_id', 'is not', null).executeTakeFirstOrThrow();
    expect(devices.map((device) => device.id)).toContain(firstDevice.remembered_device_id);
    expect((await owner.delete(`/api/remembered-devices/${firstDevice.remembered_device_id}`)).body).toEqual({ forgotten: 1 });
    expect((await first.get('/api/session')).status).toBe(401);
    expect((await second.get('/api/session')).status).toBe(200);
  });

  it('removing the authenticator app ends the sessions its remembered browsers opened', async () => {
    const user = await signUpWithTotp(t, t.client());
    const thief = await sessionThroughRememberedBrowser(user, '192.0.2.204');
    const owner = await freshOwner(user);
    // The owner keeps a way in: a passkey row, so the app is not the last factor.
    const { insertFactor } = await import('./helpers/app.ts');
    await insertFactor(t.db, user.userId, { kind: 'passkey' }, t.clock.now());
    const totp = (await owner.get('/api/factors')).body.find((factor: { kind: string }) => factor.kind === 'totp');
    expect((await owner.delete(`/api/factors/${totp.id}`)).status).toBe(200);
    expect((await thief.get('/api/session')).status).toBe(401);
  });

  it('a backup-code recovery ends the sessions remembered browsers opened (the phone may be in other hands)', async () => {
    const user = await signUpWithTotp(t, t.client());
    const thief = await sessionThroughRememberedBrowser(user, '192.0.2.205');
    const owner = t.client({ clientAddress: '198.51.100.2' });
    const ticket = await passwordStep(owner, user.username, user.password);
    const recovered = await owner.post('/api/signin/backup-code', { ticket, code: user.backupCodes[0] });
    expect(recovered.status).toBe(200);
    expect((await thief.get('/api/session')).status).toBe(401);
    const audit = await t.db.selectFrom('audit_events').select('details').where('subject_user_id', '=', user.userId).where('action', '=', 'backup_code.use').executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ forgottenDevices: 1, endedSessions: 1 });
  });
});
