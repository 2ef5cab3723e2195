import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { passwordStep, signUpWithTotp } from './helpers/fallback.ts';
import { addPasskey, signInWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('a locked TOTP path never locks out the passkey', () => {
  it('after the code path locks for an account and address, the same person at the same address signs in with their passkey', async () => {
    const home = t.client({ clientAddress: '203.0.113.50' });
    const user = await signUpWithTotp(t, home);
    const passkey = new SoftAuthenticator();
    expect((await addPasskey(home, passkey, { label: 'Laptop' })).response.status).toBe(201);
    expect((await home.delete('/api/session')).status).toBe(204);

    // Someone (or a fat finger) burns the code path from this address: 5 wrong codes.
    for (let i = 0; i < 5; i++) {
      const ticket = await passwordStep(home, user.username, user.password);
      const wrong = await home.post('/api/signin/totp', { ticket, code: '000000' });
      // The fifth failure is still answered as a wrong code; the lock holds from the next attempt.
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('code_invalid');
    }
    t.clock.advance(30);
    const locked = await home.post('/api/signin/totp', { ticket: await passwordStep(home, user.username, user.password), code: user.code() });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('locked_out');

    const viaPasskey = await signInWithPasskey(home, passkey);
    expect(viaPasskey.response.status).toBe(200);
    expect((await home.get('/api/session')).body.user.id).toBe(user.userId);
  });
});
