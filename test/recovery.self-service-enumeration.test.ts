import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import type { DeferredWork } from '../src/deferred-work.ts';
import { createTestApp, seedSignedInUser, TestClient } from './helpers/app.ts';
import { StatementLog } from './helpers/statement-log.ts';

/** Deferred work held until the test lets it run: proves the answer went out before any of it started. */
function heldWork(): DeferredWork & { held: number; release(): Promise<void> } {
  let queue: Array<() => Promise<unknown>> = [];
  return {
    get held() {
      return queue.length;
    },
    run(_name, work) {
      queue.push(work);
    },
    async release() {
      const works = queue;
      queue = [];
      for (const work of works) await work();
    },
    async settled() {},
  };
}

/**
 * Issue 15: POST /api/recovery/self must not tell whether an account exists (or has a confirmed
 * address) — not by its answer, and not by its time. It used to look the account up and, for a
 * real one, open the request (a transaction of six or more statements) before answering, so an
 * existing account answered measurably later. Now the answer waits only for the per-address cap;
 * the lookup and the opening run after it. Same idea as the password step's proof
 * (test/auth/password-step.equal-database-work.test.ts).
 */
describe('self-service recovery: the same database work before the answer whether or not the account exists', async () => {
  const s = await createTestApp({ env: { LATCH_SELF_RECOVERY: 'email' } });
  const log = new StatementLog();
  const work = heldWork();
  const logged = createApp({ db: s.db.withPlugin(log), config: s.config, keyring: s.keyring, clock: s.clock, logger: s.logger, deferred: work });

  async function ask(identifier: string, clientAddress: string) {
    log.kinds.length = 0;
    const response = await new TestClient(logged, clientAddress).post('/api/recovery/self', { identifier });
    const beforeAnswer = [...log.kinds];
    log.kinds.length = 0;
    await work.release();
    return { status: response.status, body: JSON.stringify(response.body), beforeAnswer, after: [...log.kinds] };
  }

  it('unknown name, unknown address, an account without a confirmed address, a real one by name and by address: the same answer after the same statements', async () => {
    const owner = await seedSignedInUser(s, s.client());
    await s.db.updateTable('users').set({ email: 'owner@example.test', email_verified_at: s.clock.now() }).where('id', '=', owner.user.id).execute();
    const withoutEmail = await seedSignedInUser(s, s.client());
    const other = await seedSignedInUser(s, s.client());
    await s.db.updateTable('users').set({ email: 'other@example.test', email_verified_at: s.clock.now() }).where('id', '=', other.user.id).execute();

    const unknownName = await ask('nobody-at-all', '198.51.100.1');
    expect(unknownName.status).toBe(202);
    expect(unknownName.body).toBe('{"accepted":true}');
    // Only the per-address cap (one upsert) before answering; the lookup comes after.
    expect(unknownName.beforeAnswer).toEqual(['InsertQueryNode']);
    expect(unknownName.after).toEqual(['SelectQueryNode']);

    const cases = {
      unknownAddress: await ask('nobody@example.test', '198.51.100.2'),
      withoutEmail: await ask(withoutEmail.user.username, '198.51.100.3'),
      ownerByName: await ask(owner.user.username, '198.51.100.4'),
      otherByAddress: await ask('Other@Example.test', '198.51.100.5'),
    };
    for (const [name, answer] of Object.entries(cases)) {
      expect([name, answer.status, answer.body, answer.beforeAnswer]).toEqual([name, unknownName.status, unknownName.body, unknownName.beforeAnswer]);
    }
    // The real accounts' work did happen — after the answer.
    expect(cases.ownerByName.after.length).toBeGreaterThan(unknownName.after.length);
    expect(work.held).toBe(0);
    const opened = await s.db.selectFrom('recovery_requests').select(['user_id', 'mode', 'status']).orderBy('created_at').execute();
    expect(opened.map((row) => row.user_id).sort()).toEqual([owner.user.id, other.user.id].sort());
    expect(opened.every((row) => row.mode === 'self' && row.status === 'waiting')).toBe(true);
  });

  it('the answer goes out before the work starts: a request whose work never ran still answers 202', async () => {
    const response = await new TestClient(logged, '198.51.100.9').post('/api/recovery/self', { identifier: 'someone' });
    expect(response.status).toBe(202);
    expect(work.held).toBe(1);
    await work.release();
  });

  it('with the server’s own deferred work: the request opens shortly after the answer', async () => {
    const user = await seedSignedInUser(s, s.client());
    await s.db.updateTable('users').set({ email: 'late@example.test', email_verified_at: s.clock.now() }).where('id', '=', user.user.id).execute();
    expect((await s.client({ clientAddress: '198.51.100.20' }).post('/api/recovery/self', { identifier: user.user.username })).status).toBe(202);
    await s.deferred.settled();
    expect(await s.db.selectFrom('recovery_requests').select('status').where('user_id', '=', user.user.id).execute()).toEqual([{ status: 'waiting' }]);
  });
});
