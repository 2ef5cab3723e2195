import { beforeEach, describe, expect, it } from 'vitest';
import { regenerateBackupCodes } from '../src/auth/enroll/backup-codes.ts';
import { setPassword } from '../src/auth/enroll/password.ts';
import { removeOwnFactor } from '../src/auth/manage/factors.ts';
import { signInWithBackupCode } from '../src/auth/sign-in/second-factor.ts';
import { silentLogger } from '../src/logger.ts';
import { notificationKinds, queueNotification } from '../src/notifications/outbox.ts';
import { StatementLog } from './helpers/statement-log.ts';
import { deliverDueNotifications, defaultDeliveryRules, startNotificationWorker, type DeliveryRules } from '../src/notifications/worker.ts';
import { relyingPartyFrom } from '../src/webauthn/relying-party.ts';
import { addPasskey, anonymous, signedInAs, signInTotp, signUpTotpUser, ticketFor, type Flows } from './auth/helpers.ts';
import { createTestApp } from './helpers/app.ts';
import { startTestSmtpServer } from './helpers/smtp.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const smtp = await startTestSmtpServer();
const t = await createTestApp({ env: { LATCH_SMTP_URL: smtp.url, LATCH_MAIL_FROM: 'Latch Security <security@example.test>', LATCH_RP_NAME: 'Example Latch' } });
const f: Flows = { t, deps: { db: t.db, keyring: t.keyring, config: t.config }, rp: relyingPartyFrom(t.config) };
const deliver = (rules: DeliveryRules = defaultDeliveryRules) => deliverDueNotifications({ db: t.db, config: t.config, clock: t.clock, logger: silentLogger }, rules);

let addressCounter = 0;
async function withConfirmedAddress(userId: string): Promise<string> {
  const address = `owner-${++addressCounter}@example.test`;
  await t.db.updateTable('users').set({ email: address, email_verified_at: t.clock.now() }).where('id', '=', userId).execute();
  return address;
}

function rowsOf(userId: string) {
  return t.db.selectFrom('notifications').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
}

describe('notification delivery over SMTP', () => {
  // Each test delivers only its own rows: what earlier tests left is out of the way.
  beforeEach(async () => {
    smtp.reject(null);
    await t.db.updateTable('notifications').set({ skipped_at: t.clock.now(), skipped_reason: 'test_isolation' }).where('sent_at', 'is', null).where('failed_at', 'is', null).execute();
  });

  it('every notification kind reaches a real SMTP server with what happened, when, from where, and no secret in it', async () => {
    const user = await signUpTotpUser(f);
    const address = await withConfirmedAddress(user.user.id);
    const totpSecret = new URL(user.otpauthUri).searchParams.get('secret')!;
    const secrets: string[] = [totpSecret, user.password, user.established.token, ...user.backupCodes];

    // The flows queue what they queue today, with the payloads they carry.
    const signedIn = await signInTotp(f, user, { clientAddress: '198.51.100.23' });
    secrets.push(signedIn.established.token, user.code());
    t.clock.advance(30);
    const ticket = await ticketFor(f, user);
    const withBackup = await signInWithBackupCode(f.deps, anonymous(f), { ticket, code: user.backupCodes[0]! });
    secrets.push(withBackup.established.token);
    const fresh = await signInTotp(f, user);
    secrets.push(fresh.established.token);
    const regenerated = await regenerateBackupCodes(f.deps, await signedInAs(f, fresh.established));
    secrets.push(...regenerated.codes);
    const again = await signInTotp(f, user);
    const newPassword = 'a brand new passphrase 42';
    await setPassword(f.deps, await signedInAs(f, again.established), { newPassword });
    secrets.push(newPassword, again.established.token);
    const added = await addPasskey(f, await signedInAs(f, again.established), new SoftAuthenticator(), 'Work key');
    await removeOwnFactor(f.deps, await signedInAs(f, again.established), { factorId: added.id });
    // Kinds whose triggers other tests drive (a cloned passkey, a guessing stranger, an address change), with the payloads those flows queue.
    const from = { clientAddress: '203.0.113.99', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' };
    await queueNotification(t.db, { userId: user.user.id, kind: 'factor_flagged', payload: { factorId: added.id, kind: 'passkey', label: 'Work key', reason: 'sign_count_not_increasing' }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'second_factor_throttled', payload: { method: 'totp' }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'email_changed', payload: { change: 'changed' }, now: t.clock.now(), from });
    // The passkey rollout's (test/auth/rollout.flow.test.ts drives them).
    await queueNotification(t.db, { userId: user.user.id, kind: 'totp_retired', payload: { factorId: added.id, kind: 'totp', label: null, passkeySignIns: 3 }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'passkey_upgraded', payload: { factorId: added.id, kind: 'passkey', label: 'Chrome on Linux (added automatically)' }, now: t.clock.now(), from });
    // Recovery, the rollout's deadline and an admin's disable/enable, with the payloads their flows queue (src/recovery/, src/admin/users.ts).
    const waitEndsAt = new Date(t.clock.now().getTime() + 24 * 3600 * 1000).toISOString();
    await queueNotification(t.db, { userId: user.user.id, kind: 'recovery_requested', payload: { requestId: '00000000-0000-4000-8000-000000000001', mode: 'admin' }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'recovery_approved', payload: { requestId: '00000000-0000-4000-8000-000000000001', waitEndsAt }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'recovery_cancelled', payload: { requestId: '00000000-0000-4000-8000-000000000001', reason: 'signed_in' }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'recovery_completed', payload: { requestId: '00000000-0000-4000-8000-000000000001' }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'passkey_required', payload: { deadline: '2027-01-15T00:00:00.000Z' }, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'account_disabled', payload: {}, now: t.clock.now(), from });
    await queueNotification(t.db, { userId: user.user.id, kind: 'account_enabled', payload: {}, now: t.clock.now(), from });

    const queued = await rowsOf(user.user.id);
    expect(new Set(queued.map((row) => row.kind))).toEqual(new Set(notificationKinds));
    // Every flow said where the change came from: the message can name the address and browser.
    for (const row of queued) expect({ kind: row.kind, address: row.client_address !== null, agent: row.user_agent !== null }).toEqual({ kind: row.kind, address: true, agent: true });

    const before = smtp.received.length;
    // One pass, with a batch big enough for every kind (the default batch is smaller than the list of kinds).
    const report = await deliver({ ...defaultDeliveryRules, batchSize: queued.length });
    expect(report).toMatchObject({ sent: queued.length, retried: 0, gaveUp: 0, skipped: 0 });
    await smtp.waitFor(before + queued.length);
    const mails = smtp.to(address);
    expect(mails).toHaveLength(queued.length);
    for (const row of await rowsOf(user.user.id)) expect(row.sent_at).not.toBeNull();

    for (const mail of mails) {
      expect(mail.from).toBe('security@example.test');
      expect(mail.subject).toMatch(/^\[Example Latch\] /);
      expect(mail.raw).toMatch(/Content-Type: text\/plain/);
      expect(mail.raw).toMatch(/Content-Type: text\/html/);
      expect(mail.decoded).toMatch(/When: 2026-\d\d-\d\d \d\d:\d\d UTC/);
      expect(mail.decoded).toMatch(/Browser: /);
      expect(mail.decoded).toMatch(/Address: /);
      expect(mail.decoded).toContain('If this was not you');
      expect(mail.decoded).toContain(`${t.config.origins[0]}/account`);
      for (const secret of secrets) {
        expect(mail.raw).not.toContain(secret);
        expect(mail.decoded).not.toContain(secret);
      }
    }
    const subjects = mails.map((mail) => mail.subject);
    for (const subject of ['Account recovery was requested for your account', 'Account recovery was approved for your account', 'Account recovery was cancelled', 'Your account was recovered', 'A passkey will be required to sign in', 'Your account was disabled', 'Your account was enabled again']) {
      expect(subjects).toContain(`[Example Latch] ${subject}`);
    }
    expect(mails.find((mail) => mail.subject.includes('recovery was approved'))!.decoded).toContain(`after ${waitEndsAt.slice(0, 16).replace('T', ' ')} UTC`);
    expect(mails.find((mail) => mail.subject.includes('recovery was cancelled'))!.decoded).toContain('because you signed in');
    expect(mails.find((mail) => mail.subject.includes('passkey will be required'))!.decoded).toContain('From 2027-01-15 00:00 UTC');
    expect(subjects).toContain('[Example Latch] A backup code was used to sign in');
    const backupMail = mails.find((mail) => mail.subject.includes('backup code was used'))!;
    expect(backupMail.decoded).toContain(`You have ${user.backupCodes.length - 1} backup codes left.`);
    const signInMail = mails.find((mail) => mail.decoded.includes('Address: 198.51.100.23'))!;
    expect(signInMail.subject).toBe('[Example Latch] New sign-in to your account');
    expect(signInMail.decoded).toContain('your password and authenticator app');
    const flaggedMail = mails.find((mail) => mail.subject.includes('may have been copied'))!;
    expect(flaggedMail.decoded).toContain('Browser: Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
  });

  it('a user without a confirmed address gets nothing: the rows are marked skipped, not retried', async () => {
    const user = await signUpTotpUser(f);
    await t.db.updateTable('users').set({ email: 'unconfirmed@example.test', email_verified_at: null }).where('id', '=', user.user.id).execute();
    await signInTotp(f, user);
    const before = smtp.received.length;
    const report = await deliver();
    expect(report.skipped).toBeGreaterThan(0);
    expect(report.sent).toBe(0);
    for (const row of await rowsOf(user.user.id)) {
      expect(row.skipped_at).not.toBeNull();
      expect(row.skipped_reason).toBe('no_confirmed_address');
      expect(row.sent_at).toBeNull();
    }
    expect(smtp.to('unconfirmed@example.test')).toHaveLength(0);
    expect(smtp.received.length).toBe(before);
  });

  it('address-less rows are settled by the claim itself: a batch of them is one statement, not two per row', async () => {
    const user = await signUpTotpUser(f);
    await deliver(); // what the sign-up queued
    for (let i = 0; i < 5; i++) await queueNotification(t.db, { userId: user.user.id, kind: 'new_sign_in', payload: { method: 'passkey' }, now: t.clock.now() });
    const log = new StatementLog();
    const report = await deliverDueNotifications({ db: t.db.withPlugin(log), config: t.config, clock: t.clock, logger: silentLogger });
    expect(report).toMatchObject({ sent: 0, skipped: 5 });
    expect(log.kinds).toEqual(['UpdateQueryNode']);
    for (const row of await rowsOf(user.user.id)) expect(row.skipped_reason).toBe('no_confirmed_address');
  });

  it('a server that refuses: retried with a doubling wait, then given up and recorded after the bound', async () => {
    const rules: DeliveryRules = { ...defaultDeliveryRules, maxAttempts: 3, baseBackoffSeconds: 60, maxBackoffSeconds: 3600 };
    const user = await signUpTotpUser(f);
    await t.db.updateTable('notifications').set({ skipped_at: t.clock.now() }).where('sent_at', 'is', null).execute();
    const address = await withConfirmedAddress(user.user.id);
    await queueNotification(t.db, { userId: user.user.id, kind: 'password_changed', payload: {}, now: t.clock.now() });
    const row = async () => (await rowsOf(user.user.id)).find((r) => r.kind === 'password_changed')!;

    smtp.reject('temporary');
    expect(await deliver(rules)).toMatchObject({ retried: 1, sent: 0 });
    const first = await row();
    expect(first.attempts).toBe(1);
    expect(first.last_error).toMatch(/451/);
    expect(first.next_attempt_at!.getTime() - t.clock.now().getTime()).toBe(60_000);

    // Not due before its time.
    t.clock.advance(59);
    expect(await deliver(rules)).toMatchObject({ retried: 0, sent: 0 });
    t.clock.advance(1);
    expect(await deliver(rules)).toMatchObject({ retried: 1 });
    const second = await row();
    expect(second.attempts).toBe(2);
    expect(second.next_attempt_at!.getTime() - t.clock.now().getTime()).toBe(120_000);

    smtp.reject('permanent');
    t.clock.advance(120);
    expect(await deliver(rules)).toMatchObject({ gaveUp: 1 });
    const given = await row();
    expect(given.failed_at).not.toBeNull();
    expect(given.sent_at).toBeNull();
    expect(given.last_error).toMatch(/550/);
    const audit = await t.db.selectFrom('audit_events').selectAll().where('action', '=', 'notification.given_up').where('subject_user_id', '=', user.user.id).execute();
    expect(audit.map((entry) => [entry.outcome, entry.details])).toEqual([['failure', { notificationId: given.id, kind: 'password_changed', attempts: 3, reason: given.last_error }]]);
    // Given up means given up: later passes leave it alone, even once the server accepts again.
    smtp.reject(null);
    t.clock.advance(24 * 60 * 60);
    expect(await deliver(rules)).toMatchObject({ sent: 0, gaveUp: 0, retried: 0 });
    expect(smtp.to(address)).toHaveLength(0);
  });

  it('a failure that clears: the retry delivers it once and records no error', async () => {
    const user = await signUpTotpUser(f);
    await t.db.updateTable('notifications').set({ skipped_at: t.clock.now() }).where('sent_at', 'is', null).execute();
    const address = await withConfirmedAddress(user.user.id);
    await queueNotification(t.db, { userId: user.user.id, kind: 'backup_codes_regenerated', payload: {}, now: t.clock.now() });
    smtp.reject('temporary');
    await deliver();
    smtp.reject(null);
    t.clock.advance(defaultDeliveryRules.baseBackoffSeconds);
    expect(await deliver()).toMatchObject({ sent: 1 });
    const row = (await rowsOf(user.user.id)).find((r) => r.kind === 'backup_codes_regenerated')!;
    expect(row).toMatchObject({ attempts: 2, last_error: null, failed_at: null });
    expect(smtp.to(address)).toHaveLength(1);
  });

  it('the worker the server starts delivers on its own, and stop() waits for the pass in flight', async () => {
    const user = await signUpTotpUser(f);
    await t.db.updateTable('notifications').set({ skipped_at: t.clock.now() }).where('sent_at', 'is', null).execute();
    const address = await withConfirmedAddress(user.user.id);
    await queueNotification(t.db, { userId: user.user.id, kind: 'password_changed', payload: {}, now: t.clock.now() });
    const worker = startNotificationWorker({ db: t.db, config: t.config, clock: t.clock, logger: silentLogger }, { intervalMs: 20 });
    try {
      await smtp.waitFor(smtp.received.length + 1);
      await expect.poll(async () => (await rowsOf(user.user.id)).find((row) => row.kind === 'password_changed')!.sent_at).not.toBeNull();
    } finally {
      await worker.stop();
    }
    expect(smtp.to(address)).toHaveLength(1);
  });
});
