import { describe, expect, it } from 'vitest';
import { revokeFactor } from '../src/factors/revocation.ts';
import { createTestApp, insertFactor, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp();

describe('revoking a factor', () => {
  it('ends the sessions it established and only those, with audit and a notification', async () => {
    const laptop = t.client();
    const { user, factors } = await seedSignedInUser(t, laptop, { factors: [{ kind: 'passkey', label: 'Laptop' }, { kind: 'passkey', label: 'Phone' }] });
    const [laptopKey, phoneKey] = factors;
    // The laptop session was made with the laptop key only.
    await t.db.updateTable('sessions').set({ factor_ids: [laptopKey!.id] }).where('user_id', '=', user.id).execute();
    const phone = t.client();
    const phoneSeed = await seedSignedInUser(t, phone, { username: `tmp-${Math.random()}` });
    await t.db.updateTable('sessions').set({ user_id: user.id, factor_ids: [phoneKey!.id] }).where('id', '=', phoneSeed.sessionId).execute();

    const response = await phone.delete(`/api/factors/${laptopKey!.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ revoked: laptopKey!.id, endedSessions: 1, signedOut: false });
    expect((await laptop.get('/api/session')).status).toBe(401);
    expect((await phone.get('/api/session')).status).toBe(200);

    const factor = await t.db.selectFrom('factors').selectAll().where('id', '=', laptopKey!.id).executeTakeFirstOrThrow();
    expect(factor).toMatchObject({ status: 'revoked', revoked_by: user.id, revoked_reason: 'removed_by_user' });
    const audit = await t.db.selectFrom('audit_events').selectAll().where('factor_id', '=', laptopKey!.id).execute();
    expect(audit).toEqual([expect.objectContaining({ action: 'factor.revoke', outcome: 'success', subject_user_id: user.id })]);
    const notifications = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).execute();
    expect(notifications).toEqual([expect.objectContaining({ kind: 'factor_removed' })]);
  });

  it('removing the factor this session was made with signs this browser out', async () => {
    const client = t.client();
    const { factors } = await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }, { kind: 'passkey' }] });
    await t.db.updateTable('sessions').set({ factor_ids: [factors[0]!.id] }).execute();
    const response = await client.delete(`/api/factors/${factors[0]!.id}`);
    expect(response.body.signedOut).toBe(true);
    expect((await client.get('/api/session')).status).toBe(401);
  });

  it('the last factor that can sign the user in cannot be removed by the user', async () => {
    const client = t.client();
    const { factors, user } = await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }] });
    const response = await client.delete(`/api/factors/${factors[0]!.id}`);
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('last_factor');
    const factor = await t.db.selectFrom('factors').select('status').where('id', '=', factors[0]!.id).executeTakeFirstOrThrow();
    expect(factor.status).toBe('active');
    const denied = await t.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', user.id).where('outcome', '=', 'denied').execute();
    expect(denied).toHaveLength(1);
  });

  it('password + TOTP: removing TOTP when it leaves only the password is refused; with a passkey it is allowed and forgets remembered browsers', async () => {
    const client = t.client();
    const { factors, user } = await seedSignedInUser(t, client, { factors: [{ kind: 'password' }, { kind: 'totp' }] });
    const totp = factors.find((f) => f.kind === 'totp')!;
    expect((await client.delete(`/api/factors/${totp.id}`)).status).toBe(409);

    await insertFactor(t.db, user.id, { kind: 'passkey' }, t.clock.now());
    await t.db.insertInto('remembered_devices').values({ user_id: user.id, token_hash: `h-${Math.random()}`, user_agent: 'x', created_at: t.clock.now(), last_used_at: null, expires_at: new Date(t.clock.now().getTime() + 86400_000), revoked_at: null }).execute();
    expect((await client.delete(`/api/factors/${totp.id}`)).status).toBe(200);
    const devices = await t.db.selectFrom('remembered_devices').select('revoked_at').where('user_id', '=', user.id).execute();
    expect(devices.every((device) => device.revoked_at !== null)).toBe(true);
  });

  it("an admin (a different actor) may revoke a user's last factor; the notification says so", async () => {
    const client = t.client();
    const { factors, user } = await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }] });
    const admin = await seedSignedInUser(t, t.client(), { username: `admin-${Math.random()}` });
    const context = { now: t.clock.now(), clientAddress: null, userAgent: null, requestId: null };
    const result = await t.db.transaction().execute((trx) => revokeFactor(trx, context, { userId: user.id, factorId: factors[0]!.id, actorUserId: admin.user.id, reason: 'admin' }));
    expect(result.outcome).toBe('revoked');
    expect((await client.get('/api/session')).status).toBe(401);
    const notification = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(notification.payload).toMatchObject({ byAdmin: true });
  });

  it("cannot revoke another user's factor (404, nothing changes)", async () => {
    const mallory = t.client();
    await seedSignedInUser(t, mallory, { factors: [{ kind: 'passkey' }, { kind: 'passkey' }] });
    const victim = await seedSignedInUser(t, t.client(), { factors: [{ kind: 'passkey' }, { kind: 'passkey' }] });
    const response = await mallory.delete(`/api/factors/${victim.factors[0]!.id}`);
    expect(response.status).toBe(404);
    const factor = await t.db.selectFrom('factors').select('status').where('id', '=', victim.factors[0]!.id).executeTakeFirstOrThrow();
    expect(factor.status).toBe('active');
  });

  it('removing a factor needs a fresh proof', async () => {
    const client = t.client();
    const { factors } = await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }, { kind: 'passkey' }] });
    t.clock.advance(6 * 60);
    const response = await client.delete(`/api/factors/${factors[0]!.id}`);
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'step_up_required', maxAgeSeconds: 300 });
  });
});
