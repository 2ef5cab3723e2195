import { createHmac } from 'node:crypto';

/**
 * An independent authenticator: RFC 4226 / RFC 6238 with node:crypto only (no otplib), so tests
 * check the server against the standard rather than against the library it uses.
 */
export function decodeBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

export function hotp(key: Buffer, counter: number, digits = 6, algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1'): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac(algorithm, key).update(message).digest();
  const offset = digest[digest.length - 1]! & 0x0f;
  const binary = ((digest[offset]! & 0x7f) << 24) | (digest[offset + 1]! << 16) | (digest[offset + 2]! << 8) | digest[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

export function totp(key: Buffer, at: Date, options: { digits?: number; period?: number; algorithm?: 'sha1' | 'sha256' | 'sha512' } = {}): string {
  const period = options.period ?? 30;
  return hotp(key, Math.floor(at.getTime() / 1000 / period), options.digits ?? 6, options.algorithm ?? 'sha1');
}

/** What an authenticator app reads from the QR code. */
export function parseOtpauthUri(uri: string) {
  const url = new URL(uri);
  return {
    type: url.host,
    label: decodeURIComponent(url.pathname.slice(1)),
    secret: url.searchParams.get('secret')!,
    issuer: url.searchParams.get('issuer'),
    algorithm: url.searchParams.get('algorithm'),
    digits: Number(url.searchParams.get('digits')),
    period: Number(url.searchParams.get('period')),
  };
}

/** The code an app scanning `otpauthUri` shows at `at`. */
export function codeFromUri(otpauthUri: string, at: Date, stepOffset = 0): string {
  const parsed = parseOtpauthUri(otpauthUri);
  const period = parsed.period || 30;
  return totp(decodeBase32(parsed.secret), new Date(at.getTime() + stepOffset * period * 1000), {
    digits: parsed.digits || 6,
    period,
    algorithm: (parsed.algorithm ?? 'SHA1').toLowerCase() as 'sha1',
  });
}
