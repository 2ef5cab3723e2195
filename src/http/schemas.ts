import { normalizeUsername } from '../users/users.ts';
import { z } from './router.ts';

const WELL_FORMED_MESSAGE = 'must be text without NUL characters or unpaired surrogates';
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text PostgreSQL can store and a person can type again: no U+0000 (text and jsonb refuse it) and
 * no unpaired UTF-16 surrogate (not valid Unicode; PostgreSQL refuses it, and no keyboard makes it).
 * JSON lets a client send both (`"\u0000"`, `"\ud800"`).
 */
export function isWellFormedText(value: string): boolean {
  return !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value);
}

/** A string a client sends that is stored or looked up: refused with 400 validation_failed unless well-formed. */
export function wellFormedText() {
  return z.string().refine(isWellFormedText, WELL_FORMED_MESSAGE);
}

/** A password as typed: any well-formed text (argon2 takes any string); strength is judged elsewhere. */
export const PasswordSchema = wellFormedText().max(4096);

/** A display name as typed (stored trimmed). */
export const displayNameSchema = (maxLength: number) => wellFormedText().trim().max(maxLength);

/** A username as every route accepts it: 1–64 printable characters once normalised (NFKC, trimmed, lower-case). */
export const UsernameSchema = wellFormedText()
  .max(256)
  .transform(normalizeUsername)
  .pipe(
    z
      .string()
      .min(1, 'must be 1–64 printable characters')
      .max(64, 'must be 1–64 printable characters')
      .refine((value) => !/[\p{Cc}\p{Cf}]/u.test(value), 'must be 1–64 printable characters'),
  );
