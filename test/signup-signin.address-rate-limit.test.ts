import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';

const t = await createTestApp();

describe('credential stuffing and sign-up floods are capped per client address', () => {
  it('the password step answers 429 after 30 requests a minute from one address; other addresses carry on', async () => {
    const attacker = t.client({ clientAddress: '198.51.100.66' });
    for (let i = 0; i < 30; i++) {
      const response = await attacker.post('/api/signin/password', { username: `victim-${i}`, password: 'Password123!' });
      expect(response.status).toBe(200);
    }
    const refused = await attacker.post('/api/signin/password', { username: 'victim-31', password: 'Password123!' });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('60'); // locked for a minute from the 31st request

    const someoneElse = t.client({ clientAddress: '198.51.100.67' });
    expect((await someoneElse.post('/api/signin/password', { username: 'victim-1', password: 'Password123!' })).status).toBe(200);

    t.clock.advance(61);
    expect((await attacker.post('/api/signin/password', { username: 'victim-32', password: 'Password123!' })).status).toBe(200);
  });

  it('TOTP sign-up start answers 429 after 20 starts a minute from one address', async () => {
    const flood = t.client({ clientAddress: '198.51.100.77' });
    for (let i = 0; i < 20; i++) {
      expect((await flood.post('/api/signup/totp/start', { username: `flood-${i}`, password: 'correct horse battery staple' })).status).toBe(200);
    }
    expect((await flood.post('/api/signup/totp/start', { username: 'flood-21', password: 'correct horse battery staple' })).status).toBe(429);
  });

  it('one username schema everywhere: control characters are refused at both sign-ups', async () => {
    const client = t.client({ clientAddress: '198.51.100.88' });
    const passkey = await client.post('/api/signup/passkey/options', { username: 'bad\u0000name' });
    const totp = await client.post('/api/signup/totp/start', { username: 'bad\u200bname', password: 'correct horse battery staple' });
    expect([passkey.status, totp.status]).toEqual([400, 400]);
    expect(passkey.body.error.code).toBe('validation_failed');
    expect(totp.body.error.code).toBe('validation_failed');
  });
});
