import { text } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import { isMap, isScalar, LineCounter, parse, parseDocument } from 'yaml';
import { normalizeUsername } from '../../users/users.ts';
import type { SourceItem } from '../import-users.ts';

/**
 * Authelia's file backend, `users_database.yml`
 * (https://www.authelia.com/reference/guides/passwords/#yaml-format; schema
 * https://www.authelia.com/schemas/v4.39/json-schema/user-database.json):
 *
 *     users:
 *       john:
 *         disabled: false
 *         displayname: "John Doe"
 *         password: "$argon2id$v=19$m=65536,t=3,p=4$…"   # or $6$… sha512-crypt, $pbkdf2-sha512$…, $scrypt$…, $2b$…
 *         email: john.doe@authelia.com
 *         groups: [admins, dev]
 *
 * plus, optionally, the TOTP secrets Authelia keeps in its storage, exported with
 * `authelia storage user totp export` in any of its forms (detected from the content):
 * - YAML (the default, exports.totp schema): `totp_configurations: [{username, issuer, algorithm, digits, period, secret, …}]`
 * - CSV (`… export csv`): the header `issuer,username,algorithm,digits,period,secret`, one row per user
 * - URIs (`… export uri`): one `otpauth://totp/Issuer:username?algorithm=…&digits=…&period=…&secret=…` per line
 * In all three the secret is the base32 text authenticator apps were given.
 *
 * Both files are small (a file backend holds a few thousand users at most) and are read whole.
 * Authelia does not record whether an address was verified: emails are imported unverified.
 */
export async function* readAutheliaUsers(usersInput: Readable, totpInput: Readable | null): AsyncGenerator<SourceItem> {
  const totpByUser = totpInput ? parseTotpExport(await text(totpInput)) : new Map<string, TotpEntry>();
  const lineCounter = new LineCounter();
  const document = parseDocument(await text(usersInput), { lineCounter });
  if (document.errors.length > 0) {
    yield { line: lineCounter.linePos(document.errors[0]!.pos[0]).line, error: 'not valid YAML' };
    return;
  }
  const users = document.get('users', true);
  if (!isMap(users)) {
    yield { line: 1, error: 'no "users:" mapping' };
    return;
  }
  for (const pair of users.items) {
    const line = isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : 0;
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    const details = (pair.value && typeof (pair.value as { toJSON?: unknown }).toJSON === 'function' ? (pair.value as { toJSON(): unknown }).toJSON() : null) as Record<string, unknown> | null;
    if (!details || typeof details !== 'object' || Array.isArray(details)) {
      yield { line, error: 'a user entry is not a mapping' };
      continue;
    }
    const totp = totpByUser.get(normalizeUsername(name));
    yield {
      line,
      record: {
        username: name,
        displayName: typeof details.displayname === 'string' ? details.displayname : null,
        email: typeof details.email === 'string' ? details.email : null,
        emailVerified: false,
        disabled: details.disabled === true,
        groups: Array.isArray(details.groups) ? details.groups : [],
        passwordHash: details.password ?? null,
        totp: totp ?? null,
      },
    };
  }
}

interface TotpEntry {
  secret: string;
  algorithm: string;
  digits: number;
  period: number;
}

/** Entries for users not in users_database.yml are left out; the last entry for a user wins. */
export function parseTotpExport(content: string): Map<string, TotpEntry> {
  const entries = new Map<string, TotpEntry>();
  const lines = content.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  if (lines.length === 0) return entries;
  if (lines[0]!.startsWith('otpauth://')) {
    for (const line of lines) {
      const uri = new URL(line);
      const label = decodeURIComponent(uri.pathname.replace(/^\//, ''));
      const username = label.includes(':') ? label.slice(label.indexOf(':') + 1) : label;
      entries.set(normalizeUsername(username), {
        secret: uri.searchParams.get('secret') ?? '',
        algorithm: uri.searchParams.get('algorithm') ?? 'SHA1',
        digits: Number(uri.searchParams.get('digits') ?? 6),
        period: Number(uri.searchParams.get('period') ?? 30),
      });
    }
    return entries;
  }
  if (lines[0]!.replace(/\s/g, '') === 'issuer,username,algorithm,digits,period,secret') {
    for (const line of lines.slice(1)) {
      // Authelia writes the fields unquoted; an issuer with a comma would shift them, so count from the end.
      const fields = line.split(',');
      if (fields.length < 6) continue;
      const [username, algorithm, digits, period, secret] = fields.slice(-5) as [string, string, string, string, string];
      entries.set(normalizeUsername(username), { secret, algorithm, digits: Number(digits), period: Number(period) });
    }
    return entries;
  }
  const parsed = parse(content) as { totp_configurations?: Record<string, unknown>[] } | null;
  // Importing without the secrets would hand everyone an enrollment link instead of a working app: refuse.
  if (!Array.isArray(parsed?.totp_configurations)) throw new Error("the TOTP export is not one of Authelia's formats (YAML, CSV or URI list)");
  for (const configuration of parsed.totp_configurations) {
    if (typeof configuration.username !== 'string' || typeof configuration.secret !== 'string') continue;
    entries.set(normalizeUsername(configuration.username), {
      secret: configuration.secret,
      algorithm: String(configuration.algorithm ?? 'SHA1'),
      digits: Number(configuration.digits ?? 6),
      period: Number(configuration.period ?? 30),
    });
  }
  return entries;
}
