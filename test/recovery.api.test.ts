import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

/** The recovery routes over HTTP, self-service (off by default: a stranger cannot start one), and the disable/enable notifications. */
const t = await createTestApp();

async function adminClient() {
  const client = t.client();
  const admin = await seedSignedInUser(t, client, { username: `admin-${Math.random().toString(36).slice(2, 8)}` });
  await t.db.updateTable('users').set({ is_admin: true }).where('id', '=', admin.user.id).execute();
  return { client, ...admin };
}

describe('recovery API', () => {
  it('is in /openapi.json', async () => {
    const paths = Object.keys((await t.client().get('/openapi.json')).body.paths);
    for (const path of ['/api/admin/recovery', '/api/admin/recovery/{id}/approve', '/api/admin/recovery/{id}/cancel', '/api/admin/recovery/{id}/link', '/api/recovery', '/api/recovery/cancel', '/api/recovery/self']) {
      expect(paths).toContain(path);
    }
  });

  it('admin A opens, admin B approves, the user sees it and cancels; a member is refused; bad input is a 400', async () => {
    const a = await adminClient();
    const b = await adminClient();
    const userClient = t.client();
    const user = await seedSignedInUser(t, userClient);
    const member = t.client();
    await seedSignedInUser(t, member);

    expect((await member.post('/api/admin/recovery', { userId: user.user.id, reason: 'x' })).body.error).toMatchObject({ code: 'forbidden', reason: 'not_admin' });
    expect((await a.client.post('/api/admin/recovery', { userId: 'nope', reason: 'x' })).status).toBe(400);
    expect((await a.client.post('/api/admin/recovery', { userId: user.user.id, reason: '' })).status).toBe(400);
    const opened = await a.client.post('/api/admin/recovery', { userId: user.user.id, reason: 'lost phone and key' });
    expect(opened.status).toBe(201);
    const id = opened.body.request.id;
    expect((await a.client.post(`/api/admin/recovery/${id}/approve`)).body.error.code).toBe('recovery_same_admin');
    expect((await member.post(`/api/admin/recovery/${id}/approve`)).status).toBe(403);
    const approved = await b.client.post(`/api/admin/recovery/${id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body.request).toMatchObject({ status: 'waiting', openedBy: a.user.id, approvedBy: b.user.id });
    expect((await b.client.post(`/api/admin/recovery/${id}/link`)).body.error.code).toBe('recovery_waiting');
    const listed = await a.client.get(`/api/admin/recovery?userId=${user.user.id}&open=true`);
    expect(listed.body.requests.map((r: { id: string }) => r.id)).toEqual([id]);

    const mine = await userClient.get('/api/recovery');
    expect(mine.body.recovery).toMatchObject({ id, status: 'waiting' });
    expect((await userClient.post('/api/recovery/cancel')).body.recovery.status).toBe('cancelled');
    expect((await userClient.get('/api/recovery')).body.recovery).toBeNull();
    expect((await userClient.post('/api/recovery/cancel')).status).toBe(404);
    expect((await t.client().get('/api/recovery')).status).toBe(401);
  });

  it('self-service is off by default: 404, nothing opened, and the sign-in page is told it is not offered', async () => {
    expect(t.config.recovery.selfService).toBe('off');
    expect((await t.client().get('/api/recovery/self')).body).toEqual({ offered: false, waitHours: null });
    const user = await seedSignedInUser(t, t.client());
    const response = await t.client().post('/api/recovery/self', { identifier: user.user.username });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('recovery_self_service_off');
    await t.deferred.settled();
    expect(await t.db.selectFrom('recovery_requests').selectAll().where('user_id', '=', user.user.id).execute()).toEqual([]);
  });

  it('an admin disabling or enabling an account tells its owner', async () => {
    const a = await adminClient();
    const user = await seedSignedInUser(t, t.client());
    await a.client.post(`/api/admin/users/${user.user.id}/disable`);
    await a.client.post(`/api/admin/users/${user.user.id}/enable`);
    const kinds = await t.db.selectFrom('notifications').select('kind').where('user_id', '=', user.user.id).orderBy('created_at').execute();
    expect(kinds.map((row) => row.kind)).toEqual(['account_disabled', 'account_enabled']);
  });
});

describe('self-service recovery by email (LATCH_SELF_RECOVERY=email)', async () => {
  const s = await createTestApp({ env: { LATCH_SELF_RECOVERY: 'email' } });

  it('the same answer for an unknown account, one without a confirmed address, and a real one; only the real one starts a 72 h wait', async () => {
    expect((await s.client().get('/api/recovery/self')).body).toEqual({ offered: true, waitHours: 72 });
    const withEmail = await seedSignedInUser(s, s.client());
    await s.db.updateTable('users').set({ email: 'owner@example.test', email_verified_at: s.clock.now() }).where('id', '=', withEmail.user.id).execute();
    const withoutEmail = await seedSignedInUser(s, s.client());
    const answers: Array<[number, string]> = [];
    for (const identifier of ['nobody-at-all', withoutEmail.user.username, 'Owner@Example.test']) {
      const response = await s.client({ clientAddress: `198.51.100.${answers.length + 1}` }).post('/api/recovery/self', { identifier });
      answers.push([response.status, JSON.stringify(response.body)]);
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0]).toEqual([202, '{"accepted":true}']);
    // The account is looked up after the answer (recovery.self-service-enumeration.test.ts).
    await s.deferred.settled();
    const requests = await s.db.selectFrom('recovery_requests').selectAll().execute();
    expect(requests.map((r) => [r.user_id, r.mode, r.status, r.opened_by])).toEqual([[withEmail.user.id, 'self', 'waiting', null]]);
    expect(requests[0]!.wait_ends_at!.getTime() - s.clock.now().getTime()).toBe(72 * 3600 * 1000);
    const told = await s.db.selectFrom('notifications').select('kind').where('user_id', '=', withEmail.user.id).execute();
    expect(told.map((row) => row.kind)).toEqual(['recovery_requested']);
  });

  it('is rate-limited per address', async () => {
    const client = s.client({ clientAddress: '203.0.113.77' });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await client.post('/api/recovery/self', { identifier: `nobody-${i}` })).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429]);
  });
});
