import { beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.ts';
import { deliverDueNotifications } from '../src/notifications/worker.ts';
import { createTestApp, type TestClient } from './helpers/app.ts';
import { signInWithTotp, signUpWithTotp, type FallbackUser } from './helpers/fallback.ts';
import { startTestSmtpServer, type ReceivedMail } from './helpers/smtp.ts';

const smtp = await startTestSmtpServer();
const t = await createTestApp({ env: { LATCH_SMTP_URL: smtp.url, LATCH_RP_NAME: 'Latch Test' } });
const deliver = () => deliverDueNotifications({ db: t.db, config: t.config, clock: t.clock, logger: silentLogger });

let counter = 0;
const newAddress = (name = 'person') => `${name}-${++counter}@example.test`;

function codeIn(mail: ReceivedMail): string {
  const code = /confirm this address: (\d{6})/.exec(mail.decoded)?.[1];
  if (!code) throw new Error(`no code in: ${mail.subject}`);
  return code;
}

async function setAddress(client: TestClient, email: string) {
  return client.request('PUT', '/api/email', { email });
}

/** PUT the address and read the code from the mail the SMTP server received. */
async function requestCode(client: TestClient, email: string): Promise<string> {
  const before = smtp.to(email).length;
  const response = await setAddress(client, email);
  expect(response.status).toBe(200);
  await smtp.waitFor(smtp.received.length);
  const mails = smtp.to(email);
  expect(mails).toHaveLength(before + 1);
  return codeIn(mails.at(-1)!);
}

async function signedUp(): Promise<{ client: TestClient; user: FallbackUser }> {
  const client = t.client();
  const user = await signUpWithTotp(t, client);
  return { client, user };
}

/** Every stored trace of the user: outbox rows, ceremonies, audit rows, as text. */
async function storedText(userId: string): Promise<string> {
  const notifications = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', userId).execute();
  const ceremonies = await t.db.selectFrom('ceremonies').selectAll().where('user_id', '=', userId).execute();
  const audit = await t.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', userId).execute();
  return JSON.stringify({ notifications, ceremonies, audit });
}

describe('email address', () => {
  beforeEach(() => smtp.reject(null));

  it('set: the code goes to the address at once, only its hash is stored, and the right code confirms it once', async () => {
    const { client, user } = await signedUp();
    const email = newAddress();
    const code = await requestCode(client, email);
    const mail = smtp.to(email).at(-1)!;
    expect(mail.subject).toBe('[Latch Test] Confirm your email address');
    expect(mail.decoded).toContain('Address: 203.0.113.10');

    const pending = await client.get('/api/email');
    expect(pending.body).toMatchObject({ address: null, confirmed: false, pending: { address: email } });
    // The code lives in the mail only: not in the outbox, the ceremony, or the audit trail.
    expect(await storedText(user.userId)).not.toContain(code);

    const confirmed = await client.post('/api/email/confirm', { code });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ address: email, confirmed: true, pending: null });
    const audit = await t.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', user.userId).where('action', 'like', 'email.%').orderBy('id').execute();
    expect(audit.map((row) => [row.action, row.outcome])).toEqual([['email.confirmation_sent', 'success'], ['email.confirm', 'success']]);

    const again = await client.post('/api/email/confirm', { code });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('email_confirmation_invalid');
  });

  it('until confirmed, the address receives nothing but its confirmation', async () => {
    const { client, user } = await signedUp();
    const email = newAddress();
    await requestCode(client, email);
    // Things happen that notify: a sign-in, a new password.
    await signInWithTotp(t, client, user);
    expect((await client.post('/api/factors/password', { newPassword: 'another good passphrase' })).status).toBe(200);
    await deliver();
    expect(smtp.to(email)).toHaveLength(1);
    const rows = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.userId).execute();
    expect(rows.every((row) => row.sent_at === null && row.skipped_reason === 'no_confirmed_address')).toBe(true);
  });

  it('a guessed code: five wrong tries spend the confirmation, after which even the right code is refused', async () => {
    const { client } = await signedUp();
    const email = newAddress();
    const code = await requestCode(client, email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 1; left--) {
      const response = await client.post('/api/email/confirm', { code: wrong });
      expect(response.status).toBe(401);
      expect(response.body.error).toMatchObject({ code: 'code_invalid', attemptsLeft: left });
    }
    const last = await client.post('/api/email/confirm', { code: wrong });
    expect(last.body.error.code).toBe('email_confirmation_invalid');
    const right = await client.post('/api/email/confirm', { code });
    expect(right.body.error.code).toBe('email_confirmation_invalid');
    expect((await client.get('/api/email')).body).toMatchObject({ address: null, confirmed: false, pending: null });
  });

  it('an old code: refused once its 15 minutes are over', async () => {
    const { client } = await signedUp();
    const code = await requestCode(client, newAddress());
    t.clock.advance(15 * 60);
    const response = await client.post('/api/email/confirm', { code });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('email_confirmation_invalid');
  });

  it('a new code replaces the previous one: the earlier code no longer works', async () => {
    const { client } = await signedUp();
    const first = await requestCode(client, newAddress());
    const email = newAddress();
    const second = await requestCode(client, email);
    if (first !== second) expect((await client.post('/api/email/confirm', { code: first })).status).toBe(401);
    expect((await client.post('/api/email/confirm', { code: second })).body).toMatchObject({ address: email, confirmed: true });
  });

  it('a change tells the old confirmed address (which keeps the warnings until the new one is confirmed) and the new one', async () => {
    const { client, user } = await signedUp();
    const oldAddress = newAddress('old');
    await client.post('/api/email/confirm', { code: await requestCode(client, oldAddress) });
    const fresh = await signInWithTotp(t, client, user);
    expect(fresh.status).toBe(200);
    const next = newAddress('new');
    const code = await requestCode(client, next);
    // Pending: notifications still go to the old address.
    expect((await client.get('/api/email')).body).toMatchObject({ address: oldAddress, confirmed: true, pending: { address: next } });
    expect((await client.post('/api/email/confirm', { code })).body).toMatchObject({ address: next, confirmed: true, pending: null });

    await deliver();
    const toOld = smtp.to(oldAddress).map((mail) => mail.subject);
    expect(toOld).toContain('[Latch Test] The email address of your account was changed');
    const changed = smtp.to(oldAddress).find((mail) => mail.subject.includes('was changed'))!;
    expect(changed.decoded).toContain('n•••@example.test');
    expect(changed.decoded).not.toContain(next);
    expect(smtp.to(next).map((mail) => mail.subject)).toContain('[Latch Test] Your email address is confirmed');
    // Neither code ever reached the other address.
    for (const mail of smtp.to(oldAddress)) expect(mail.decoded).not.toContain(code);
  });

  it('a stolen session without a fresh step-up cannot redirect or silence the warnings (step_up_required, nothing sent)', async () => {
    const { client, user } = await signedUp();
    const email = newAddress();
    await client.post('/api/email/confirm', { code: await requestCode(client, email) });
    t.clock.advance(6 * 60);
    const before = smtp.received.length;
    const attacker = newAddress('attacker');
    const change = await setAddress(client, attacker);
    expect(change.status).toBe(403);
    expect(change.body.error.code).toBe('step_up_required');
    const removal = await client.delete('/api/email');
    expect(removal.status).toBe(403);
    expect(removal.body.error.code).toBe('step_up_required');
    expect(smtp.received.length).toBe(before);
    expect((await client.get('/api/email')).body).toMatchObject({ address: email, confirmed: true, pending: null });
    const ceremonies = await t.db.selectFrom('ceremonies').select('consumed_at').where('user_id', '=', user.userId).where('kind', '=', 'email_confirm').execute();
    expect(ceremonies.every((row) => row.consumed_at !== null)).toBe(true);
  });

  it('remove: the address is gone, and the old confirmed address is told', async () => {
    const { client, user } = await signedUp();
    const email = newAddress();
    await client.post('/api/email/confirm', { code: await requestCode(client, email) });
    await deliver();
    const removal = await client.delete('/api/email');
    expect(removal.status).toBe(200);
    expect(removal.body).toMatchObject({ address: null, confirmed: false, pending: null });
    await deliver();
    expect(smtp.to(email).map((mail) => mail.subject)).toContain('[Latch Test] The email address of your account was removed');
    const audit = await t.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', user.userId).where('action', '=', 'email.remove').execute();
    expect(audit).toHaveLength(1);
    expect((await client.delete('/api/email')).body.error.code).toBe('email_not_found');
  });

  it('addresses are validated and normalised; malformed text is refused with 400, never a 500', async () => {
    const { client } = await signedUp();
    for (const bad of ['no-at-sign', 'a@b', 'two@@example.com', '"quoted"@example.com', 'a b@example.com', 'x@exa mple.com', '.dot@example.com', 'dot.@example.com', `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.com`, 'nul\u0000@example.com', 'x\ud800@example.com', '']) {
      const response = await setAddress(client, bad);
      expect(response.status, bad).toBe(400);
      expect(response.body.error.code, bad).toBe('validation_failed');
    }
    expect((await client.request('PUT', '/api/email', { email: 42 })).status).toBe(400);
    expect((await client.post('/api/email/confirm', { code: '12ab56' })).status).toBe(400);
    const normalised = await setAddress(client, '  John.Doe+latch@Example.COM ');
    expect(normalised.status).toBe(200);
    expect(normalised.body.pending.address).toBe('John.Doe+latch@example.com');
    const international = await setAddress(client, 'user@bücher.example');
    expect(international.body.pending.address).toBe('user@xn--bcher-kva.example');
  });

  it('sending codes is rate-limited per account: an inbox cannot be flooded from one session', async () => {
    const { client } = await signedUp();
    for (let i = 0; i < 5; i++) expect((await setAddress(client, newAddress('flood'))).status).toBe(200);
    const sixth = await setAddress(client, newAddress('flood'));
    expect(sixth.status).toBe(429);
    expect(sixth.body.error.code).toBe('rate_limited');
  });

  it('a mail server that refuses the code: a clear 503, and no pending address left behind', async () => {
    const { client } = await signedUp();
    smtp.reject('permanent');
    const response = await setAddress(client, newAddress());
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('email_delivery_failed');
    expect((await client.get('/api/email')).body.pending).toBeNull();
  });
});
