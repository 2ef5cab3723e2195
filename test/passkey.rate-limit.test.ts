import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { passkeyRateLimits } from '../src/http/routes/passkeys.ts';
import { signInWithPasskey, signedUpUser } from './helpers/passkeys.ts';

const t = await createTestApp();

describe('passkey sign-in rate limits', () => {
  it('options requests are limited per client address, counted across instances', async () => {
    const client = t.client({ clientAddress: '198.51.100.20' });
    const other = client.via(t.anotherInstance());
    for (let i = 0; i < passkeyRateLimits.options.limit; i++) {
      const response = await (i % 2 ? other : client).post('/api/signin/passkey/options', {});
      expect(response.status).toBe(200);
    }
    const limited = await client.post('/api/signin/passkey/options', {});
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).toBe(String(passkeyRateLimits.options.lockoutSeconds));
    // Another address is not affected; the window passing lifts the limit.
    expect((await t.client({ clientAddress: '198.51.100.21' }).post('/api/signin/passkey/options', {})).status).toBe(200);
    t.clock.advance(passkeyRateLimits.options.lockoutSeconds + passkeyRateLimits.options.windowSeconds + 1);
    expect((await client.post('/api/signin/passkey/options', {})).status).toBe(200);
  });

  it('verify requests are limited per client address', async () => {
    const client = t.client({ clientAddress: '198.51.100.30' });
    for (let i = 0; i < passkeyRateLimits.verify.limit; i++) {
      expect((await client.post('/api/signin/passkey/verify', { ceremonyId: `nope-${i}`, response: { id: 'AA', rawId: 'AA', type: 'public-key', response: { clientDataJSON: 'AA', authenticatorData: 'AA', signature: 'AA' } } })).status).toBe(400);
    }
    const limited = await client.post('/api/signin/passkey/verify', { ceremonyId: 'x', response: {} });
    expect(limited.status).toBe(429);
  });

  it('failed verifies never lock the account: its owner signs in from elsewhere', async () => {
    const { authenticator, user } = await signedUpUser(t);
    const attacker = t.client({ clientAddress: '198.51.100.40' });
    for (let i = 0; i < passkeyRateLimits.verify.limit; i++) {
      const run = await signInWithPasskey(attacker, authenticator, { username: undefined, tamper: { corruptSignature: true } });
      expect(run.response.status).toBe(401);
    }
    expect((await attacker.post('/api/signin/passkey/verify', { ceremonyId: 'x', response: {} })).status).toBe(429);
    const owner = await signInWithPasskey(t.client({ clientAddress: '192.0.2.50' }), authenticator);
    expect(owner.response.status).toBe(200);
    expect(owner.response.body.user.id).toBe(user.id);
  });
});
