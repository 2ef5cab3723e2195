import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import { importUsers, type ImportOptions, type SourceItem } from '../../src/import/import-users.ts';
import { anonymous, type Flows } from '../auth/helpers.ts';

/**
 * RFC 6238 written out with node:crypto (no otplib, no shared helper): the code an authenticator
 * app shows for `key` at `at`. The import is right only if these codes sign in.
 */
export function rfc6238(key: Buffer, at: Date, options: { digits?: number; period?: number; algorithm?: 'sha1' | 'sha256' | 'sha512' } = {}): string {
  const { digits = 6, period = 30, algorithm = 'sha1' } = options;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at.getTime() / 1000 / period)));
  const mac = createHmac(algorithm, key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 10 ** digits).padStart(digits, '0');
}

/** RFC 4648 base32 without padding, written out here too. */
export function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export function streamOf(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}

export async function runImport(f: Flows, source: AsyncIterable<SourceItem>, options: Partial<ImportOptions> = {}) {
  const links: { username: string; url: string }[] = [];
  const summary = await importUsers(f.deps, source, {
    dryRun: false,
    linkTtlSeconds: 24 * 3600,
    now: f.t.clock.now(),
    writeLink: (username, url) => {
      links.push({ username, url });
    },
    ...options,
  });
  return { summary, links };
}

/** Password step then a TOTP code, through the flows the web API calls. Moves the clock a step on first. */
export async function signInWithPasswordAndCode(f: Flows, username: string, password: string, code: (now: Date) => string, period = 30) {
  f.t.clock.advance(period);
  const step = await submitPassword(f.deps, anonymous(f), { username, password, deviceToken: null });
  expect(step.kind).toBe('ticket');
  if (step.kind !== 'ticket') throw new Error('unreachable');
  return signInWithTotpCode(f.deps, anonymous(f), { ticket: step.ticket, code: code(f.t.clock.now()), rememberDevice: false });
}

export async function storedPasswordHash(f: Flows, userId: string): Promise<string> {
  const row = await f.deps.db.selectFrom('factors').select('password_hash').where('user_id', '=', userId).where('kind', '=', 'password').where('status', '=', 'active').executeTakeFirstOrThrow();
  return row.password_hash!;
}

export async function userNamed(f: Flows, username: string) {
  return f.deps.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

/** Row counts of everything an import writes: a re-run must leave them all as they are. */
export async function importFootprint(f: Flows) {
  const tables = ['users', 'factors', 'backup_codes', 'groups', 'group_members', 'enrollment_links', 'audit_events'] as const;
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await f.deps.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}
