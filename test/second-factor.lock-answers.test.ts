import { describe, expect, it } from 'vitest';
import { perAddressRule } from '../src/lockout/second-factor.ts';
import { createTestApp } from './helpers/app.ts';
import { notTheCode, passwordStep, signUpWithTotp } from './helpers/fallback.ts';

const t = await createTestApp();
const lockSeconds = perAddressRule.kind === 'cap' ? perAddressRule.lockoutSeconds : 0;

/**
 * Issue 12, point 2 (the server's part): the fifth wrong code said "1 attempt left" although it
 * started the lock, and a right code while locked answered "the sign-in took too long" because
 * every locked try used up the ticket.
 */
describe('the answers around a lockout tell the true story', () => {
  it('attempts left come from the lockout counter; the try that starts the lock says so and for how long', async () => {
    const user = await signUpWithTotp(t, t.client());
    const client = t.client({ clientAddress: '192.0.2.120' });
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const response = await client.post('/api/signin/totp', { ticket: await passwordStep(client, user.username, user.password), code: notTheCode(user) });
      expect(response.body.error.code).toBe('code_invalid');
      answers.push({ attemptsLeft: response.body.error.attemptsLeft, lockedForSeconds: response.body.error.lockedForSeconds });
    }
    expect(answers).toEqual([
      { attemptsLeft: 2, lockedForSeconds: undefined }, // the ticket's three tries are fewer
      { attemptsLeft: 2, lockedForSeconds: undefined },
      { attemptsLeft: 2, lockedForSeconds: undefined },
      { attemptsLeft: 1, lockedForSeconds: undefined },
      { attemptsLeft: 0, lockedForSeconds: lockSeconds },
    ]);
  });

  it('tries refused by the lock do not use up the ticket: they keep answering locked_out with the time left', async () => {
    const user = await signUpWithTotp(t, t.client());
    const client = t.client({ clientAddress: '192.0.2.121' });
    for (let i = 0; i < 5; i++) await client.post('/api/signin/totp', { ticket: await passwordStep(client, user.username, user.password), code: notTheCode(user) });
    const ticket = await passwordStep(client, user.username, user.password);
    for (let i = 0; i < 4; i++) {
      const locked = await client.post('/api/signin/totp', { ticket, code: user.code() });
      expect(locked.status).toBe(429);
      expect(locked.body.error).toMatchObject({ code: 'locked_out', retryAfterSeconds: lockSeconds });
    }
  });

  it('step-up: attempts left count down to the lock, per session and address', async () => {
    const client = t.client({ clientAddress: '192.0.2.122' });
    const user = await signUpWithTotp(t, client);
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const response = await client.post('/api/step-up/totp', { code: notTheCode(user) });
      answers.push([response.body.error.attemptsLeft, response.body.error.lockedForSeconds ?? null]);
    }
    expect(answers).toEqual([[4, null], [3, null], [2, null], [1, null], [0, lockSeconds]]);
  });
});
