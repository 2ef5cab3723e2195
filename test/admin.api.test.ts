import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp();

/** An admin whose session was made with a passkey with user verification just now. */
async function adminClient() {
  const client = t.client();
  const admin = await seedSignedInUser(t, client, { username: `admin-${Math.random().toString(36).slice(2, 8)}` });
  await t.db.updateTable('users').set({ is_admin: true }).where('id', '=', admin.user.id).execute();
  return { client, ...admin };
}

describe('admin API', () => {
  it('is in /openapi.json', async () => {
    const spec = await t.client().get('/openapi.json');
    const paths = Object.keys(spec.body.paths);
    for (const path of ['/api/admin/users', '/api/admin/users/{id}', '/api/admin/users/{id}/disable', '/api/admin/sessions/{id}', '/api/admin/users/{id}/factors/{factorId}', '/api/admin/users/{id}/exemption', '/api/admin/groups', '/api/admin/groups/{id}/policy', '/api/admin/groups/{id}/members']) {
      expect(paths).toContain(path);
    }
  });

  it('needs a session (401) and an administrator (403 forbidden)', async () => {
    expect((await t.client().get('/api/admin/users')).status).toBe(401);
    const member = t.client();
    await seedSignedInUser(t, member);
    const refused = await member.get('/api/admin/users');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', reason: 'not_admin' });
  });

  it('searches, shows a profile without secrets, ends a session, revokes a factor, clears a flag', async () => {
    const { client } = await adminClient();
    const target = await seedSignedInUser(t, t.client(), {
      username: `zz-target-${Math.random().toString(36).slice(2, 6)}`,
      factors: [{ kind: 'passkey', flagged_at: t.clock.now(), flagged_reason: 'sign_count_not_increasing' }, { kind: 'passkey' }, { kind: 'password' }, { kind: 'totp' }],
    });
    const found = await client.get(`/api/admin/users?prefix=zz-target&factorState=passkey_and_totp`);
    expect(found.status).toBe(200);
    expect(found.body.users.map((user: { id: string }) => user.id)).toContain(target.user.id);

    const profile = await client.get(`/api/admin/users/${target.user.id}`);
    expect(profile.status).toBe(200);
    expect(profile.body.factors.map((factor: { kind: string }) => factor.kind).sort()).toEqual(['passkey', 'passkey', 'password', 'totp']);
    expect(profile.body.factors[0]).toMatchObject({ flagged: true, flaggedReason: 'sign_count_not_increasing' });
    expect(JSON.stringify(profile.body)).not.toMatch(/argon2|v1\.test|public_?key|credential/i);

    const cleared = await client.post(`/api/admin/users/${target.user.id}/factors/${target.factors[0]!.id}/clear-flag`);
    expect(cleared.body.factor).toMatchObject({ id: target.factors[0]!.id, flagged: false });

    const revoked = await client.delete(`/api/admin/users/${target.user.id}/factors/${target.factors[1]!.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ revoked: target.factors[1]!.id, endedSessions: 1 });

    const other = await seedSignedInUser(t, t.client());
    expect((await client.delete(`/api/admin/sessions/${other.sessionId}`)).status).toBe(204);
    expect((await client.delete(`/api/admin/sessions/${other.sessionId}`)).status).toBe(404);
  });

  it('disables (every session ends) and enables; exemptions with a reason and an end', async () => {
    const { client } = await adminClient();
    const targetClient = t.client();
    const target = await seedSignedInUser(t, targetClient);
    const disabled = await client.post(`/api/admin/users/${target.user.id}/disable`);
    expect(disabled.body).toMatchObject({ user: { status: 'disabled' }, endedSessions: 1 });
    expect((await targetClient.get('/api/session')).status).toBe(401);
    expect((await client.post(`/api/admin/users/${target.user.id}/enable`)).body.user.status).toBe('active');

    const expiresAt = new Date(t.clock.now().getTime() + 86400_000).toISOString();
    const granted = await client.request('PUT', `/api/admin/users/${target.user.id}/exemption`, { reason: 'Kiosk account', expiresAt });
    expect(granted.body.exemption).toMatchObject({ reason: 'Kiosk account', expiresAt });
    expect((await client.request('PUT', `/api/admin/users/${target.user.id}/exemption`, { reason: '' })).status).toBe(400);
    expect((await client.delete(`/api/admin/users/${target.user.id}/exemption`)).body).toEqual({ lifted: true });
  });

  it('groups: create, rename, policy, members, delete; the default group stays', async () => {
    const { client } = await adminClient();
    const member = await seedSignedInUser(t, t.client());
    const created = await client.post('/api/admin/groups', { name: 'Finance' });
    expect(created.status).toBe(201);
    const id = created.body.group.id as string;
    expect((await client.post('/api/admin/groups', { name: 'finance ' })).body.error.code).toBe('group_exists');
    expect((await client.patch(`/api/admin/groups/${id}`, { name: 'Finance EU' })).body.group.name).toBe('finance eu');
    const policy = await client.request('PUT', `/api/admin/groups/${id}/policy`, { mode: 'required', deadline: '2027-01-31T00:00:00Z', inviteAgainAfterDays: 3 });
    expect(policy.body.group.policy).toEqual({ mode: 'required', deadline: '2027-01-31T00:00:00.000Z', inviteAgainAfterDays: 3, retireTotpAfterPasskeySignIns: null });
    expect((await client.request('PUT', `/api/admin/groups/${id}/policy`, { mode: 'sometimes' })).status).toBe(400);
    expect((await client.post(`/api/admin/groups/${id}/members`, { userIds: [member.user.id] })).body).toEqual({ added: [member.user.id] });
    const view = await client.get(`/api/admin/groups/${id}`);
    expect(view.body).toMatchObject({ group: { members: 1 }, members: [{ id: member.user.id }] });
    expect((await client.delete(`/api/admin/groups/${id}/members/${member.user.id}`)).body).toEqual({ removed: [member.user.id] });

    const groups = await client.get('/api/admin/groups');
    const defaultGroup = groups.body.groups.find((group: { isDefault: boolean }) => group.isDefault);
    expect((await client.delete(`/api/admin/groups/${defaultGroup.id}`)).body.error.code).toBe('default_group');
    expect((await client.delete(`/api/admin/groups/${id}`)).status).toBe(204);
    expect((await client.get(`/api/admin/groups/${id}`)).status).toBe(404);
  });

  it('bad ids and bodies are clear 4xx answers, never a 500', async () => {
    const { client } = await adminClient();
    expect((await client.get('/api/admin/users/not-a-uuid')).status).toBe(400);
    expect((await client.get('/api/admin/users/00000000-0000-4000-8000-000000000000')).body.error.code).toBe('user_not_found');
    expect((await client.get('/api/admin/users?limit=0')).status).toBe(400);
    expect((await client.get('/api/admin/users?factorState=some')).status).toBe(400);
    expect((await client.post('/api/admin/groups/00000000-0000-4000-8000-000000000000/members', { userIds: ['x'] })).status).toBe(400);
    expect((await client.post('/api/admin/groups', { name: 'a\u0000b' })).status).toBe(400);
  });
});
