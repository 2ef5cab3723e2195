import { describe, expect, it } from 'vitest';
import { passkeyRateLimits } from '../src/http/routes/passkeys.ts';
import { addressBucket } from '../src/rate-limits/address-bucket.ts';
import { rateLimitKeys } from '../src/rate-limits/rate-limits.ts';
import { createTestApp } from './helpers/app.ts';

const t = await createTestApp();

describe('an IPv6 client cannot dodge per-address limits by hopping addresses inside its /64', () => {
  it('addressBucket: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 as its canonical /64', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::1:2:3:4')).toBe('2001:db8::/64');
    expect(addressBucket('2001:0:0:1::5')).toBe('2001:0:0:1::/64');
    expect(addressBucket('1:0:0:0:0:0:0:8')).toBe('1::/64');
    expect(addressBucket('fe80::1%eth0')).toBe('fe80::/64');
    expect(addressBucket('::1')).toBe('::/64');
    expect(addressBucket('64:ff9b::192.0.2.1')).toBe('64:ff9b::/64');
    expect(addressBucket(null)).toBe('unknown');
    expect(addressBucket('not-an-address')).toBe('not-an-address');
  });

  it('the key builders use the bucket', () => {
    expect(rateLimitKeys.address('scope', '2001:db8:1:2::a')).toBe(rateLimitKeys.address('scope', '2001:db8:1:2:ffff::b'));
    expect(rateLimitKeys.address('scope', '2001:db8:1:2::a')).not.toBe(rateLimitKeys.address('scope', '2001:db8:1:3::a'));
    expect(rateLimitKeys.secondFactorAccountAddress('u', '2001:db8:1:2::a')).toBe(rateLimitKeys.secondFactorAccountAddress('u', '2001:db8:1:2::b'));
    expect(rateLimitKeys.address('scope', '203.0.113.7')).toBe('scope:addr:203.0.113.7');
    expect(rateLimitKeys.address('scope', '203.0.113.7')).not.toBe(rateLimitKeys.address('scope', '203.0.113.8'));
  });

  it('two addresses in one /64 share a limit; another /64 has its own; IPv4 addresses stay apart', async () => {
    const { limit } = passkeyRateLimits.options;
    const hit = (address: string) => t.client({ clientAddress: address }).post('/api/signin/passkey/options', {});
    for (let i = 0; i < limit; i++) expect((await hit(`2001:db8:aa:1::${(i % 2) + 1}`)).status).toBe(200);
    // A third address of the same /64 is over the shared limit.
    expect((await hit('2001:db8:aa:1:dead:beef:0:9')).status).toBe(429);
    expect((await hit('2001:db8:aa:2::1')).status).toBe(200);

    for (let i = 0; i < limit; i++) expect((await hit('198.51.100.20')).status).toBe(200);
    expect((await hit('198.51.100.20')).status).toBe(429);
    expect((await hit('198.51.100.21')).status).toBe(200);
  });
});
