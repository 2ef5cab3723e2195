import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { signUpWithTotp } from './helpers/fallback.ts';
import { startTestSmtpServer } from './helpers/smtp.ts';

describe.runIf(process.env.TEST_DATABASE_URL)('email confirmation codes under parallel requests (PostgreSQL)', () => {
  it('a burst of parallel guesses gets no more than the five attempts one code allows, and the right code confirms once', async () => {
    const smtp = await startTestSmtpServer();
    const t = await createTestApp({ env: { LATCH_SMTP_URL: smtp.url } });
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    const email = 'burst@example.test';
    expect((await client.request('PUT', '/api/email', { email })).status).toBe(200);
    const code = /confirm this address: (\d{6})/.exec(smtp.to(email)[0]!.decoded)![1]!;

    // Two instances, so the requests truly run at once on separate connections.
    const other = client.via(t.anotherInstance());
    const guesses = Array.from({ length: 16 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    const answers = await Promise.all(guesses.map((guess, i) => (i % 2 ? other : client).post('/api/email/confirm', { code: guess })));
    const wrongCounted = answers.filter((answer) => answer.body?.error?.code === 'code_invalid').length;
    expect(wrongCounted).toBeLessThanOrEqual(5);
    expect(answers.every((answer) => answer.status === 401 || answer.status === 400 || answer.status === 429)).toBe(true);
    const ceremony = await t.db.selectFrom('ceremonies').selectAll().where('user_id', '=', user.userId).where('kind', '=', 'email_confirm').executeTakeFirstOrThrow();
    expect(ceremony.attempts).toBeLessThanOrEqual(5);

    // A fresh code, sent twice at once: one confirms, the other finds it used.
    // An hour on: the per-account confirmation limit (10 an hour) the burst used up has passed.
    t.clock.advance(61 * 60);
    await signUpAgainFresh();
    const again = client.via(t.anotherInstance());
    const second = 'second@example.test';
    expect((await client.request('PUT', '/api/email', { email: second })).status).toBe(200);
    const secondCode = /confirm this address: (\d{6})/.exec(smtp.to(second)[0]!.decoded)![1]!;
    const both = await Promise.all([client.post('/api/email/confirm', { code: secondCode }), again.post('/api/email/confirm', { code: secondCode })]);
    expect(both.filter((answer) => answer.status === 200)).toHaveLength(1);
    const audit = await t.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', user.userId).where('action', '=', 'email.confirm').where('outcome', '=', 'success').execute();
    expect(audit).toHaveLength(1);

    async function signUpAgainFresh() {
      // Sign in again: the step-up window for changing the address is five minutes.
      t.clock.advance(30);
      const ticket = (await client.post('/api/signin/password', { username: user.username, password: user.password })).body.ticket;
      expect((await client.post('/api/signin/totp', { ticket, code: user.code() })).status).toBe(200);
    }
  });
});
