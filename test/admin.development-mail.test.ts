import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { silentLogger } from '../src/logger.ts';
import { createTestApp, seedSignedInUser, TestClient } from './helpers/app.ts';
import { startTestSmtpServer } from './helpers/smtp.ts';

const t = await createTestApp();

async function admin() {
  const client = t.client();
  const seeded = await seedSignedInUser(t, client);
  await t.db.updateTable('users').set({ is_admin: true }).where('id', '=', seeded.user.id).execute();
  return { client, ...seeded };
}

/** A member asks for a code to be mailed (no SMTP: it lands in the development mailbox); returns the code. */
async function mailACode(address: string): Promise<string> {
  const member = t.client();
  await seedSignedInUser(t, member);
  expect((await member.request('PUT', '/api/email', { email: address })).status).toBe(200);
  const page = await (await admin()).client.get('/api/admin/mail');
  const mail = (page.body.messages as Array<{ to: string; text: string }>).find((message) => message.to === address)!;
  return /confirm this address: (\d{6})/.exec(mail.text)![1]!;
}

describe('the development mailbox (/admin/mail)', () => {
  it('shows an administrator what would have been mailed, confirmation codes included, on the embedded database without SMTP', async () => {
    const address = `dev-${Date.now()}@example.test`;
    const code = await mailACode(address);
    const { client } = await admin();
    const page = await client.get('/admin/mail');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toBeTruthy();
    expect(page.body).toContain(address);
    expect(page.body).toContain('Confirm your email address');
    expect(page.body).toContain(code);
  });

  it('a member cannot read other people\u2019s confirmation codes there (403, no code in the answer)', async () => {
    const address = `victim-${Date.now()}@example.test`;
    const code = await mailACode(address);
    const member = t.client();
    await seedSignedInUser(t, member);
    for (const path of ['/admin/mail', '/api/admin/mail']) {
      const answer = await member.get(path);
      expect(answer.status, path).toBe(403);
      expect(JSON.stringify(answer.body), path).not.toContain(code);
      expect(JSON.stringify(answer.body), path).not.toContain(address);
    }
  });

  it('a stolen admin session without a fresh passkey proof is refused (step-up), and nobody signed in is sent to sign in', async () => {
    const { client } = await admin();
    t.clock.advance(16 * 60);
    expect((await client.get('/api/admin/mail')).body.error.code).toBe('step_up_required');
    const page = await client.get('/admin/mail');
    expect(page.status).toBe(403);
    expect(page.body).toContain('Confirm it is you');
    const anonymous = await t.client().get('/admin/mail');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/?next=%2Fadmin%2Fmail');
  });

  it('does not exist where mail is really sent (LATCH_SMTP_URL) or on PostgreSQL (DATABASE_URL)', async () => {
    const smtp = await startTestSmtpServer();
    const withSmtp = createApp({ db: t.db, keyring: t.keyring, clock: t.clock, logger: silentLogger, config: { ...t.config, smtpUrl: smtp.url } });
    const onPostgres = createApp({ db: t.db, keyring: t.keyring, clock: t.clock, logger: silentLogger, config: { ...t.config, databaseUrl: 'postgres://elsewhere/latch' } });
    const { client } = await admin();
    for (const app of [withSmtp, onPostgres]) {
      const via: TestClient = client.via(app);
      expect((await via.get('/admin/mail')).status).toBe(404);
      expect((await via.get('/api/admin/mail')).status).toBe(404);
    }
  });
});
