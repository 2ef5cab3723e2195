import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/admin/actor.ts';
import { setAdminRole } from '../src/admin/users.ts';
import { createTestApp } from './helpers/app.ts';
import { createUser } from '../src/users/users.ts';

/**
 * Threat: the organization loses its last administrator because two demotions (two admins
 * demoting each other, or two operators) run at once and each sees the other still in place.
 * The admins are locked while counted, so one waits for the other. Run on PostgreSQL
 * (TEST_DATABASE_URL) for truly parallel transactions.
 */
const t = await createTestApp();

describe('demoting the last administrator, concurrently', () => {
  it('of two admins demoted at the same moment, exactly one stays an administrator', async () => {
    await t.db.updateTable('users').set({ is_admin: false }).execute();
    const context = { now: t.clock.now(), clientAddress: null, userAgent: 'test', requestId: null };
    const ids: string[] = [];
    for (const name of ['race-admin-a', 'race-admin-b']) {
      const user = (await createUser(t.db, { username: name }, t.clock.now()))!;
      await t.db.updateTable('users').set({ is_admin: true }).where('id', '=', user.id).execute();
      ids.push(user.id);
    }
    const other = t.database.connectAgain();
    const results = await Promise.all([
      t.db.transaction().execute((trx) => setAdminRole(trx, context, CLI_ACTOR, { userId: ids[0]!, isAdmin: false })),
      other.transaction().execute((trx) => setAdminRole(trx, context, CLI_ACTOR, { userId: ids[1]!, isAdmin: false })),
    ]);
    expect(results.map((result) => result.outcome).sort()).toEqual(['changed', 'refused_last_admin']);
    const admins = await t.db.selectFrom('users').select('id').where('is_admin', '=', true).execute();
    expect(admins).toHaveLength(1);
  });
});
