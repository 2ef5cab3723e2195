import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { passkeyRateLimits } from '../src/http/routes/passkeys.ts';
import { signInWithPasskey, signedUpUser } from './helpers/passkeys.ts';

const t = await createTestApp();

async function countAuditRows(): Promise<number> {
  const row = await t.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

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

  // Counted in the ceremony's own statement (no round trip of its own): a body that fails validation
  // never reaches the database, so it is refused as bad input (400) and not counted.
  const junkAssertion = (ceremonyId: string) => ({ ceremonyId, response: { id: 'AA', rawId: 'AA', type: 'public-key', response: { clientDataJSON: 'AA', authenticatorData: 'AA', signature: 'AA' } } });

  it('verify requests are limited per client address', async () => {
    const client = t.client({ clientAddress: '198.51.100.30' });
    for (let i = 0; i < passkeyRateLimits.verify.limit; i++) {
      expect((await client.post('/api/signin/passkey/verify', junkAssertion(`nope-${i}`))).status).toBe(400);
    }
    const limited = await client.post('/api/signin/passkey/verify', junkAssertion('x'));
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.retryAfterSeconds).toBe(Number(limited.headers.get('retry-after')));
    // Still locked: a refusal neither counts nor extends the lock; once it ends, requests pass again.
    expect((await client.post('/api/signin/passkey/verify', junkAssertion('y'))).status).toBe(429);
    t.clock.advance(passkeyRateLimits.verify.lockoutSeconds + passkeyRateLimits.verify.windowSeconds + 1);
    expect((await client.post('/api/signin/passkey/verify', junkAssertion('z'))).status).toBe(400);
  });

  it('a rate-limited verify leaves its ceremony unconsumed and writes no audit row', async () => {
    const { authenticator } = await signedUpUser(t);
    const client = t.client({ clientAddress: '198.51.100.31' });
    const options = await client.post('/api/signin/passkey/options', {});
    for (let i = 0; i < passkeyRateLimits.verify.limit; i++) await client.post('/api/signin/passkey/verify', junkAssertion(`nope-${i}`));
    const auditRowsBefore = await countAuditRows();
    const assertion = authenticator.assert(options.body.options);
    const limited = await client.post('/api/signin/passkey/verify', { ceremonyId: options.body.ceremonyId, response: assertion });
    expect(limited.status).toBe(429);
    expect(await countAuditRows()).toBe(auditRowsBefore);
    // After the lock, the same ceremony still works: the refused request did not spend it.
    t.clock.advance(passkeyRateLimits.verify.lockoutSeconds + 1);
    const later = await client.post('/api/signin/passkey/verify', { ceremonyId: options.body.ceremonyId, response: authenticator.assert(options.body.options) });
    expect(later.status, JSON.stringify(later.body)).toBe(200);
  });

  it('options past the limit start no ceremony', async () => {
    const client = t.client({ clientAddress: '198.51.100.32' });
    const before = await t.db.selectFrom('ceremonies').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    let created = 0;
    for (let i = 0; i < passkeyRateLimits.options.limit + 5; i++) {
      const response = await client.post('/api/signin/passkey/options', {});
      if (response.status === 200) created++;
      else expect(response.status).toBe(429);
    }
    expect(created).toBe(passkeyRateLimits.options.limit);
    const after = await t.db.selectFrom('ceremonies').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n) - Number(before.n)).toBe(passkeyRateLimits.options.limit);
  });

  it('failed verifies never lock the account: its owner signs in from elsewhere', async () => {
    const { authenticator, user } = await signedUpUser(t);
    const attacker = t.client({ clientAddress: '198.51.100.40' });
    for (let i = 0; i < passkeyRateLimits.verify.limit; i++) {
      const run = await signInWithPasskey(attacker, authenticator, { username: undefined, tamper: { corruptSignature: true } });
      expect(run.response.status).toBe(401);
    }
    expect((await attacker.post('/api/signin/passkey/verify', junkAssertion('x'))).status).toBe(429);
    const owner = await signInWithPasskey(t.client({ clientAddress: '192.0.2.50' }), authenticator);
    expect(owner.response.status).toBe(200);
    expect(owner.response.body.user.id).toBe(user.id);
  });
});
