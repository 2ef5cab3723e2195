import { describe, expect, it } from 'vitest';
import { perSubjectThrottle } from '../src/lockout/second-factor.ts';
import { createTestApp } from './helpers/app.ts';
import { notTheCode, passwordStep, signInWithTotp, signUpWithTotp, type FallbackUser } from './helpers/fallback.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';

const t = await createTestApp();

async function wrongCode(client: ReturnType<typeof t.client>, user: FallbackUser, path = '/api/signin/totp', code = '000000') {
  const ticket = await passwordStep(client, user.username, user.password);
  return client.post(path, { ticket, code });
}

describe('second-factor brute force', () => {
  it('a ticket allows three codes, then the password must be entered again', async () => {
    const user = await signUpWithTotp(t, t.client());
    const client = t.client({ clientAddress: '192.0.2.1' });
    const ticket = await passwordStep(client, user.username, user.password);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.post('/api/signin/totp', { ticket, code: notTheCode(user) })).status);
    expect(statuses).toEqual([401, 401, 401, 401]);
    const last = await client.post('/api/signin/totp', { ticket, code: user.code() });
    expect(last.body.error.code).toBe('ticket_invalid');
  });

  it('5 failures from one address lock that address for 15 minutes — also the right code, also on another instance', async () => {
    const user = await signUpWithTotp(t, t.client());
    const attacker = t.client({ clientAddress: '192.0.2.66' });
    for (let i = 0; i < 5; i++) expect((await wrongCode(attacker, user, '/api/signin/totp', notTheCode(user))).status).toBe(401);

    const onOther = attacker.via(t.anotherInstance());
    const ticket = await passwordStep(onOther, user.username, user.password);
    const locked = await onOther.post('/api/signin/totp', { ticket, code: user.code() });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toMatchObject({ code: 'locked_out', retryAfterSeconds: expect.any(Number) });
    // Only the TOTP path is locked: backup codes count on their own (a wrong one is checked, not refused).
    const backup = await onOther.post('/api/signin/backup-code', { ticket: await passwordStep(onOther, user.username, user.password), code: 'aaaaa-bbbbb-ccccc' });
    expect(backup.status).toBe(401);
    expect(backup.body.error.code).toBe('code_invalid');

    // Malicious lockout is limited: the owner's own address is not locked.
    const owner = t.client({ clientAddress: '192.0.2.99' });
    const ownTicket = await passwordStep(owner, user.username, user.password);
    expect((await owner.post('/api/signin/totp', { ticket: ownTicket, code: user.code() })).status).toBe(200);

    t.clock.advance(15 * 60 + 1);
    const later = await passwordStep(attacker, user.username, user.password);
    expect((await attacker.post('/api/signin/totp', { ticket: later, code: user.code() })).status).toBe(200);
  });

  it('the count survives new tickets and new sessions, and a success resets it', async () => {
    const user = await signUpWithTotp(t, t.client());
    const client = t.client({ clientAddress: '192.0.2.70' });
    for (let i = 0; i < 4; i++) expect((await wrongCode(client, user, '/api/signin/totp', notTheCode(user))).status).toBe(401);
    t.clock.advance(30);
    const ticket = await passwordStep(client, user.username, user.password);
    expect((await client.post('/api/signin/totp', { ticket, code: user.code() })).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await wrongCode(t.client({ clientAddress: '192.0.2.70' }), user, '/api/signin/totp', notTheCode(user))).status).toBe(401);
    t.clock.advance(30);
    const again = await passwordStep(client, user.username, user.password);
    expect((await client.post('/api/signin/totp', { ticket: again, code: user.code() })).status).toBe(200);
  });

  it('guessing spread over many addresses is slowed account-wide by a growing delay, and the owner is told', async () => {
    expect(perSubjectThrottle.kind).toBe('throttle');
    if (perSubjectThrottle.kind !== 'throttle') return;
    const user = await signUpWithTotp(t, t.client());
    // The free attempts, two per address so no address reaches its own limit.
    for (let attempt = 0; attempt < perSubjectThrottle.freeAttempts + 1; attempt++) {
      const client = t.client({ clientAddress: `10.0.${Math.floor(attempt / 2)}.1` });
      expect((await wrongCode(client, user, '/api/signin/totp', notTheCode(user))).status).toBe(401);
    }
    // That last one started the delay: the next code waits, from any address, the owner's too.
    const fresh = t.client({ clientAddress: '10.99.0.1' });
    const delayed = await fresh.post('/api/signin/totp', { ticket: await passwordStep(fresh, user.username, user.password), code: user.code() });
    expect(delayed.status).toBe(429);
    expect(delayed.body.error).toMatchObject({ code: 'locked_out', retryAfterSeconds: perSubjectThrottle.baseDelaySeconds });
    const notices = await t.db.selectFrom('notifications').select('kind').where('user_id', '=', user.userId).where('kind', '=', 'second_factor_throttled').execute();
    expect(notices).toHaveLength(1);

    const counter = () => t.db.selectFrom('rate_limits').selectAll().where('key', '=', `2fa:account:totp:${user.userId}`).execute();
    expect((await counter())[0]?.count).toBe(perSubjectThrottle.freeAttempts + 1);

    // A delay, not a lock: once it passes the owner gets in, and the success clears the count.
    t.clock.advance(perSubjectThrottle.baseDelaySeconds + 1);
    const owner = t.client({ clientAddress: '10.99.0.2' });
    const ownTicket = await passwordStep(owner, user.username, user.password);
    expect((await owner.post('/api/signin/totp', { ticket: ownTicket, code: user.code() })).status).toBe(200);
    expect(await counter()).toHaveLength(0);
  });

  it('step-up guessing counts against the same limits', async () => {
    const client = t.client({ clientAddress: '192.0.2.80' });
    const user = await signUpWithTotp(t, client);
    for (let i = 0; i < 5; i++) expect((await client.post('/api/step-up/totp', { code: notTheCode(user) })).status).toBe(401);
    expect((await client.post('/api/step-up/totp', { code: user.code() })).status).toBe(429);
  });

  it('a stolen session cannot spread step-up guesses over many addresses: five per session, then refused', async () => {
    const owner = t.client({ clientAddress: '192.0.2.90' });
    const user = await signUpWithTotp(t, owner);
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const thief = t.client({ clientAddress: `198.51.100.${100 + i}` });
      thief.cookies.set(SESSION_COOKIE, owner.sessionToken!);
      statuses.push((await thief.post('/api/step-up/totp', { code: notTheCode(user) })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // The owner's other sessions are not held by this session's count.
    const fresh = t.client({ clientAddress: '192.0.2.91' });
    expect((await signInWithTotp(t, fresh, user)).status).toBe(200);
    t.clock.advance(6 * 60);
    expect((await fresh.post('/api/step-up/totp', { code: user.code() })).status).toBe(200);
  });

  it('a wrong enrollment code never activates the authenticator', async () => {
    const client = t.client();
    const start = await client.post('/api/signup/totp/start', { username: 'never-active', password: 'a long enough passphrase' });
    for (let i = 0; i < 5; i++) {
      expect((await client.post('/api/signup/totp/verify', { ceremonyId: start.body.ceremonyId, code: '000000' })).status).toBe(401);
    }
    const { codeFromUri } = await import('./helpers/authenticator.ts');
    const tooLate = await client.post('/api/signup/totp/verify', { ceremonyId: start.body.ceremonyId, code: codeFromUri(start.body.otpauthUri, t.clock.now()) });
    expect(tooLate.body.error.code).toBe('ceremony_invalid');
    expect(await t.db.selectFrom('users').select('id').where('username', '=', 'never-active').executeTakeFirst()).toBeUndefined();
  });
});
