import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { notTheCode, passwordStep, signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';

const t = await createTestApp();

/**
 * Issue 10, finding 2: failures after a *wrong* password counted against the account, so anyone
 * who knew a username could lock its owner's TOTP sign-in, backup codes and step-up for an hour,
 * renewed by one failure an hour.
 */
describe('whoever knows only a username cannot lock its owner out', () => {
  it('wrong-password guesses from many addresses, the owner\'s own included, leave the owner\'s sign-in open', async () => {
    const user = await signUpWithTotp(t, t.client());
    const guess = async (address: string) => {
      const attacker = t.client({ clientAddress: address });
      const ticket = await passwordStep(attacker, user.username, 'not the password at all');
      return (await attacker.post('/api/signin/totp', { ticket, code: '000000' })).status;
    };
    // Each address is capped at 5 (its own counters), and the username's guessers share a throttle.
    for (const address of ['192.0.2.31', '203.0.113.9']) {
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push(await guess(address));
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    }
    expect(await guess('192.0.2.32')).toBe(401); // the 11th: checked, and the guessers now wait
    expect(await guess('192.0.2.33')).toBe(429);
    // The owner signs in from one of the hammered addresses: the guessers' counters are not theirs.
    const owner = t.client({ clientAddress: '203.0.113.9' });
    expect((await signInWithTotp(t, owner, user)).status).toBe(200);
    t.clock.advance(6 * 60);
    expect((await owner.post('/api/step-up/totp', { code: user.code() })).status).toBe(200);
  });

  it('the guesser sees the same answers whether or not their password was right (no password oracle)', async () => {
    const user = await signUpWithTotp(t, t.client());
    const run = async (address: string, password: string) => {
      const client = t.client({ clientAddress: address });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const ticket = await passwordStep(client, user.username, password);
        statuses.push((await client.post('/api/signin/totp', { ticket, code: notTheCode(user) })).status);
      }
      return statuses;
    };
    expect(await run('192.0.2.41', 'wrong password here')).toEqual(await run('192.0.2.42', user.password));
  });

  it('a locked TOTP path leaves backup codes and an already-remembered browser working at that address', async () => {
    const user = await signUpWithTotp(t, t.client());
    const address = '198.51.100.40';
    const remembered = t.client({ clientAddress: address });
    expect((await signInWithTotp(t, remembered, user, { rememberDevice: true })).status).toBe(200);
    expect((await remembered.delete('/api/session')).status).toBe(204);

    // Someone with the password at the same address (a shared network) burns the TOTP attempts.
    const attacker = t.client({ clientAddress: address });
    for (let i = 0; i < 5; i++) {
      const ticket = await passwordStep(attacker, user.username, user.password);
      expect((await attacker.post('/api/signin/totp', { ticket, code: notTheCode(user) })).status).toBe(401);
    }
    const owner = t.client({ clientAddress: address });
    const locked = await owner.post('/api/signin/totp', { ticket: await passwordStep(owner, user.username, user.password), code: user.code() });
    expect(locked.status).toBe(429);
    const backup = await owner.post('/api/signin/backup-code', { ticket: await passwordStep(owner, user.username, user.password), code: user.backupCodes[0] });
    expect(backup.status).toBe(200);

    const again = await remembered.post('/api/signin/password', { username: user.username, password: user.password });
    // The backup-code recovery forgot remembered browsers, by design; before it, the browser signed in.
    expect(again.body.ticket).toEqual(expect.any(String));
  });

  it('an already-remembered browser signs in while the TOTP path is locked', async () => {
    const user = await signUpWithTotp(t, t.client());
    const address = '198.51.100.41';
    const remembered = t.client({ clientAddress: address });
    expect((await signInWithTotp(t, remembered, user, { rememberDevice: true })).status).toBe(200);
    expect((await remembered.delete('/api/session')).status).toBe(204);
    const attacker = t.client({ clientAddress: address });
    for (let i = 0; i < 6; i++) {
      const ticket = await passwordStep(attacker, user.username, user.password);
      await attacker.post('/api/signin/totp', { ticket, code: notTheCode(user) });
    }
    const signedIn = await remembered.post('/api/signin/password', { username: user.username, password: user.password });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.id).toBe(user.userId);
  });
});
