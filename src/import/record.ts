import { ScureBase32Plugin } from 'otplib';
import { z } from 'zod';
import { normalizeBackupCode } from '../factors/backup-codes.ts';
import { isSupportedPasswordHash } from '../factors/password.ts';
import { normalizeUsername } from '../users/users.ts';

const base32 = new ScureBase32Plugin();

/** RFC 4226 §4 asks for 128 bits; 80-bit keys (Google Authenticator's old default) still exist in the wild. */
export const MIN_TOTP_SECRET_BYTES = 10;
const MAX_TOTP_SECRET_BYTES = 128;

/** Base32 text (any case, spaces and padding allowed) to the key bytes; null when it is not base32. */
export function decodeBase32Secret(text: string): Buffer | null {
  try {
    return Buffer.from(base32.decode(text.replace(/[\s=]/g, '').toUpperCase()));
  } catch {
    return null;
  }
}

const username = z
  .string()
  .transform(normalizeUsername)
  .pipe(z.string().min(1, 'is empty').max(64, 'is longer than 64 characters'));

const groupName = z
  .string()
  .transform((name) => name.normalize('NFKC').trim().toLowerCase())
  .pipe(z.string().min(1, 'is empty').max(64, 'is longer than 64 characters'));

/**
 * Messages never repeat the value: a rejected secret or hash must not reach the report or a log.
 */
const totp = z.object({
  secret: z
    .string()
    .transform((text, context) => {
      const bytes = decodeBase32Secret(text);
      if (!bytes) context.addIssue({ code: 'custom', message: 'is not base32' });
      else if (bytes.length < MIN_TOTP_SECRET_BYTES || bytes.length > MAX_TOTP_SECRET_BYTES)
        context.addIssue({ code: 'custom', message: `must be ${MIN_TOTP_SECRET_BYTES}–${MAX_TOTP_SECRET_BYTES} bytes` });
      return bytes ?? Buffer.alloc(0);
    }),
  algorithm: z
    .string()
    .transform((name) => name.toUpperCase().replace(/^HMAC/, '').replace('-', ''))
    .pipe(z.enum(['SHA1', 'SHA256', 'SHA512'], { message: 'must be SHA1, SHA256 or SHA512' }))
    .default('SHA1'),
  digits: z.union([z.literal(6), z.literal(8)], { message: 'must be 6 or 8' }).default(6),
  period: z.number().int().min(15, 'must be 15–120 seconds').max(120, 'must be 15–120 seconds').default(30),
});

/**
 * One user to import, as every adapter hands it over (jsonl is this, line by line). Optional
 * fields may be missing or null.
 */
export const importRecordSchema = z
  .object({
    username,
    displayName: z.string().trim().max(128, 'is longer than 128 characters').nullish(),
    email: z.email({ message: 'is not an email address' }).max(254, 'is longer than 254 characters').nullish(),
    emailVerified: z.boolean().default(false),
    /** Disabled in the old system: imported disabled (no sign-in, no enrollment link). */
    disabled: z.boolean().default(false),
    groups: z.array(groupName).max(100, 'has more than 100 groups').default([]),
    passwordHash: z
      .string()
      .refine(isSupportedPasswordHash, 'is not a supported hash (argon2, bcrypt, scrypt, pbkdf2, pbkdf2-sha256, pbkdf2-sha512, sha512-crypt)')
      .nullish(),
    totp: totp.nullish(),
    backupCodes: z
      .array(
        z.string().transform((code, context) => {
          const normalized = normalizeBackupCode(code);
          if (!normalized) context.addIssue({ code: 'custom', message: 'is not a Latch backup code (15 characters of 2-9 a-z without i, l, o)' });
          return normalized ?? '';
        }),
      )
      .max(50, 'has more than 50 codes')
      .default([]),
  })
  .strict();

export type ImportRecord = z.output<typeof importRecordSchema>;

/** `path: message` for each problem, without the rejected values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
