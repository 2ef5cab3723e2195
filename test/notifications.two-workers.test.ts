import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.ts';
import { queueNotification } from '../src/notifications/outbox.ts';
import { deliverDueNotifications, defaultDeliveryRules } from '../src/notifications/worker.ts';
import { createUser } from '../src/users/users.ts';
import { createTestApp } from './helpers/app.ts';
import { startTestSmtpServer } from './helpers/smtp.ts';

describe.runIf(process.env.TEST_DATABASE_URL)('two delivery workers on one PostgreSQL', () => {
  it('never send one notification twice: each row is claimed by one worker (FOR UPDATE SKIP LOCKED and a lease)', async () => {
    const smtp = await startTestSmtpServer();
    const t = await createTestApp({ env: { LATCH_SMTP_URL: smtp.url } });
    const rows = 60;
    const now = t.clock.now();
    for (let i = 0; i < rows; i++) {
      const user = (await createUser(t.db, { username: `worker-race-${i}` }, now))!;
      await t.db.updateTable('users').set({ email: `race-${i}@example.test`, email_verified_at: now }).where('id', '=', user.id).execute();
      await queueNotification(t.db, { userId: user.id, kind: 'new_sign_in', payload: { method: 'passkey' }, now });
    }

    // Two instances: separate connection pools, passes running truly in parallel, small batches so they interleave.
    const rules = { ...defaultDeliveryRules, batchSize: 4 };
    const worker = (db: typeof t.db) => async () => {
      let sent = 0;
      for (;;) {
        const report = await deliverDueNotifications({ db, config: t.config, clock: t.clock, logger: silentLogger }, rules);
        sent += report.sent;
        if (report.sent + report.retried + report.gaveUp + report.skipped === 0) return sent;
      }
    };
    const [first, second] = await Promise.all([worker(t.db)(), worker(t.database.connectAgain())()]);
    expect(first + second).toBe(rows);

    await smtp.waitFor(rows);
    const perAddress = new Map<string, number>();
    for (const mail of smtp.received) for (const to of mail.to) perAddress.set(to, (perAddress.get(to) ?? 0) + 1);
    expect(perAddress.size).toBe(rows);
    expect([...perAddress.values()].every((n) => n === 1)).toBe(true);
    const state = await t.db.selectFrom('notifications').select(['attempts', 'sent_at']).execute();
    expect(state.every((row) => row.sent_at !== null && row.attempts === 1)).toBe(true);
  });
});
