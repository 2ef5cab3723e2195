import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit.ts';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp();
const context = () => ({ now: t.clock.now(), clientAddress: '198.51.100.7', userAgent: 'test', requestId: 'req-1' });

describe('audit log: tampering with the evidence', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of audit rows, even from the application', async () => {
    await recordAudit(t.db, context(), { action: 'test.event', outcome: 'success', details: { note: 'kept' } });
    await expect(t.db.updateTable('audit_events').set({ outcome: 'failure' }).execute()).rejects.toThrow(/append-only/);
    await expect(t.db.deleteFrom('audit_events').execute()).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_events`.execute(t.db)).rejects.toThrow(/append-only/);
    const rows = await t.db.selectFrom('audit_events').selectAll().where('action', '=', 'test.event').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'success', client_address: '198.51.100.7', request_id: 'req-1', details: { note: 'kept' } });
  });

  it('a change and its audit row commit together or not at all', async () => {
    const before = await t.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await expect(
      t.db.transaction().execute(async (trx) => {
        await recordAudit(trx, context(), { action: 'test.rolled_back', outcome: 'success' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const after = await t.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });
});

describe('GET /api/audit', () => {
  it("shows only the signed-in user's own events, newest first, paged", async () => {
    const alice = t.client();
    const bob = t.client();
    const { user: aliceUser } = await seedSignedInUser(t, alice, { username: 'alice-audit' });
    const { user: bobUser } = await seedSignedInUser(t, bob, { username: 'bob-audit' });
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1);
      await recordAudit(t.db, context(), { action: `alice.${i}`, outcome: 'success', subjectUserId: aliceUser.id, actorUserId: aliceUser.id });
    }
    await recordAudit(t.db, context(), { action: 'bob.private', outcome: 'success', subjectUserId: bobUser.id });

    const first = await alice.get('/api/audit?limit=3');
    expect(first.status).toBe(200);
    expect(first.body.events.map((e: { action: string }) => e.action)).toEqual(['alice.4', 'alice.3', 'alice.2']);
    const second = await alice.get(`/api/audit?limit=3&before=${first.body.nextBefore}`);
    expect(second.body.events.map((e: { action: string }) => e.action)).toEqual(['alice.1', 'alice.0']);
    expect(second.body.nextBefore).toBeNull();
    expect(JSON.stringify([first.body, second.body])).not.toContain('bob.private');
  });

  it('rejects a malformed query with 400 and needs a session', async () => {
    const client = t.client();
    expect((await client.get('/api/audit')).status).toBe(401);
    await seedSignedInUser(t, client);
    const response = await client.get('/api/audit?limit=5000');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
  });
});
