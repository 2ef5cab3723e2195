import { describe, expect, it } from 'vitest';
import { matchTotpCode, TOTP_SECRET_BYTES } from '../src/factors/totp.ts';
import { createTestApp } from './helpers/app.ts';
import { codeFromUri, decodeBase32, hotp, parseOtpauthUri, totp } from './helpers/authenticator.ts';
import { signUpWithTotp, uniqueUsername, GOOD_PASSWORD } from './helpers/fallback.ts';

const t = await createTestApp();

const seeds = {
  SHA1: Buffer.from('12345678901234567890'),
  SHA256: Buffer.from('12345678901234567890123456789012'),
  SHA512: Buffer.from('1234567890'.repeat(6) + '1234'),
} as const;

// RFC 6238 appendix B: 8 digits, 30 s, T0 = 0.
const rfc6238: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

// RFC 4226 appendix D, counters 0–9.
const rfc4226 = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

describe('TOTP against the RFC test vectors', () => {
  for (const [seconds, sha1, sha256, sha512] of rfc6238) {
    for (const [algorithm, expected] of [['SHA1', sha1], ['SHA256', sha256], ['SHA512', sha512]] as const) {
      it(`RFC 6238 ${algorithm} at T=${seconds} accepts ${expected} in its own step`, async () => {
        const at = new Date(seconds * 1000);
        const step = await matchTotpCode(seeds[algorithm], expected, at, { algorithm, digits: 8, periodSeconds: 30 }, null);
        expect(step).toBe(Math.floor(seconds / 30));
        // The independent authenticator agrees with the RFC, so it is a fair judge below.
        expect(totp(seeds[algorithm], at, { digits: 8, algorithm: algorithm.toLowerCase() as 'sha1' })).toBe(expected);
      });
    }
  }

  it('RFC 4226 HOTP vectors: counter c is the code of time step c', async () => {
    for (const [counter, expected] of rfc4226.entries()) {
      expect(hotp(seeds.SHA1, counter)).toBe(expected);
      const at = new Date(counter * 30 * 1000 + 15_000);
      expect(await matchTotpCode(seeds.SHA1, expected, at, { algorithm: 'SHA1', digits: 6, periodSeconds: 30 }, null)).toBe(counter);
    }
  });

  it('a wrong 8-digit code is refused', async () => {
    expect(await matchTotpCode(seeds.SHA1, '94287083', new Date(59_000), { algorithm: 'SHA1', digits: 8, periodSeconds: 30 }, null)).toBeNull();
  });
});

describe('provisioning an independent authenticator from the otpauth URI', () => {
  it('the URI is SHA1/6/30 with the issuer in label and parameter, and a 160-bit secret', async () => {
    const client = t.client();
    const username = uniqueUsername();
    const start = await client.post('/api/signup/totp/start', { username, password: GOOD_PASSWORD });
    expect(start.status).toBe(200);
    const uri = parseOtpauthUri(start.body.otpauthUri);
    expect(start.body.otpauthUri.startsWith(`otpauth://totp/Latch:${username}?`)).toBe(true);
    expect(uri).toMatchObject({ type: 'totp', label: `Latch:${username}`, issuer: 'Latch', algorithm: 'SHA1', digits: 6, period: 30 });
    expect(decodeBase32(uri.secret)).toHaveLength(TOTP_SECRET_BYTES);
    expect(uri.secret).toBe(start.body.secret);
    expect(start.body.qrCode).toMatch(/^data:image\/png;base64,/);
  });

  it('a code computed with node:crypto from the URI signs up and later signs in', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 2, amr: ['pwd', 'otp'], phishingResistant: false });

    const other = t.client();
    t.clock.advance(30);
    const ticket = (await other.post('/api/signin/password', { username: user.username, password: user.password })).body.ticket;
    const response = await other.post('/api/signin/totp', { ticket, code: codeFromUri(user.otpauthUri, t.clock.now()) });
    expect(response.status).toBe(200);
    expect(response.body.user.id).toBe(user.userId);
  });

  it('every secret is fresh from the CSPRNG', async () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const start = await t.client().post('/api/signup/totp/start', { username: uniqueUsername(), password: GOOD_PASSWORD });
      secrets.add(start.body.secret);
    }
    expect(secrets.size).toBe(5);
  });
});
