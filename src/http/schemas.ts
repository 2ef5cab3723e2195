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

/**
 * Scripts a username's letters may come from, and the writing systems that mix scripts by nature
 * (UTS #39 §5.1 "augmented scripts": Japanese, Korean, Chinese with Bopomofo). Matched by
 * Script_Extensions, so marks and signs shared by a few scripts (Japanese ー, Indic dandas) count
 * for each of them.
 */
const SCRIPTS = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Nko',
  'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala',
  'Thai', 'Lao', 'Tibetan', 'Myanmar', 'Khmer', 'Mongolian', 'Ethiopic', 'Cherokee', 'Canadian_Aboriginal', 'Tifinagh',
  'Javanese', 'Balinese', 'Sundanese', 'Tai_Viet', 'Yi', 'Vai', 'Adlam', 'Ol_Chiki',
  'Han', 'Hiragana', 'Katakana', 'Hangul', 'Bopomofo',
];
const WRITING_SYSTEMS = [...SCRIPTS.map((script) => [script]), ['Han', 'Hiragana', 'Katakana'], ['Han', 'Hangul'], ['Han', 'Bopomofo']];
/** One pattern per writing system: its letters (and digits), combining marks of no script of their own, ASCII digits, . _ - @ + */
const SINGLE_SCRIPT_PATTERNS = WRITING_SYSTEMS.map(
  (scripts) => new RegExp(`^(?:[0-9._@+-]|\\p{Script=Inherited}|${scripts.map((script) => `\\p{Script_Extensions=${script}}`).join('|')})*$`, 'u'),
);

/**
 * Whether a (normalised) username is written in one script: "paypal" and "пэйпал" are, "pаypal"
 * with a Cyrillic а is not. Look-alikes across scripts are how one account impersonates another.
 */
export function isSingleScriptUsername(username: string): boolean {
  return SINGLE_SCRIPT_PATTERNS.some((pattern) => pattern.test(username));
}

/**
 * A username being chosen (sign-up): as UsernameSchema, and its letters from one script only.
 * Signing in keeps using UsernameSchema, so names taken before this rule still sign in.
 */
export const NewUsernameSchema = UsernameSchema.refine(
  isSingleScriptUsername,
  'must use letters of one script only (for example all Latin or all Cyrillic), digits and . _ - @ +',
);
