import { z } from 'zod';
import type { Ceremony, CeremonyKind } from '../db/schema.ts';

/**
 * What each kind of ceremony keeps between its steps, as a schema: the data comes back from the
 * database as JSON, and a row of the wrong shape (an older version's, a hand-edited one) must
 * read as an invalid ceremony, not as fields that happen to be undefined.
 */
const sealedSecret = { secretSealed: z.string().min(1), keyId: z.string().min(1) };

export const ceremonyDataSchemas = {
  /**
   * The ticket between the password and the second factor. `passwordOk` is false for unknown
   * users, wrong passwords and users without a second factor alike: the difference shows only as
   * a failed code.
   */
  signin_ticket: z.object({
    /** The lockout counters the code attempts count against (the account only when the password was right). */
    subject: z.string().min(1),
    subjectUserId: z.string().nullable(),
    passwordOk: z.boolean(),
    passwordFactorId: z.string().nullable(),
    /** A keyed hash of the password hash that was checked: a password changed since voids the ticket. */
    passwordHashTag: z.string().nullable(),
    /** The password sealed to the user, only when its stored hash is legacy: re-hashed once the sign-in succeeds. */
    rehash: z.object({ sealed: z.string(), keyId: z.string() }).nullable(),
  }),
  /** A pending password + TOTP sign-up: the password only as its argon2id hash, the secret sealed. */
  totp_signup: z.object({
    enrollmentId: z.string().min(1),
    username: z.string().min(1),
    displayName: z.string().nullable(),
    passwordHash: z.string().min(1),
    ...sealedSecret,
  }),
  /** Recovery without WebAuthn: the link's new password (as its hash) and authenticator, pending the first code. */
  // A recovery or import link without WebAuthn; no password hash when an import link keeps the imported password.
  link_fallback: z.object({ enrollmentId: z.string().min(1), linkId: z.string().min(1), passwordHash: z.string().min(1).nullable(), ...sealedSecret }),
  /** A pending authenticator for a signed-in user. */
  /** `replacesFactorId`: the app this one replaces once its code is confirmed (a new phone). */
  totp_setup: z.object({ enrollmentId: z.string().min(1), ...sealedSecret, replacesFactorId: z.string().min(1).optional() }),
  /** The user a passkey sign-up will create. */
  passkey_signup: z.object({ username: z.string().min(1), displayName: z.string(), webauthnUserId: z.string().min(1) }),
  /** `identified`: options named a user's credentials, so only that user's passkey may finish. */
  passkey_signin: z.object({ mode: z.enum(['discoverable', 'identified']) }),
  /** Decided when the step-up started; a missing flag means required. */
  passkey_step_up: z.object({ requireUserVerification: z.boolean().default(true) }),
  /** A signed-in user's new passkey, or (with `enrollmentLinkId`, and no session) one registered through an enrollment link. */
  passkey_register: z.object({ enrollmentLinkId: z.string().optional(), automatic: z.boolean().optional() }),
  /**
   * An address waiting for its confirmation code: the address (not a secret: it becomes the
   * user's) and only the keyed hash of the code mailed to it.
   */
  email_confirm: z.object({ email: z.string().min(3).max(254), codeHash: z.string().min(1) }),
} as const satisfies Record<CeremonyKind, z.ZodType>;

export type CeremonyData<K extends CeremonyKind> = z.infer<(typeof ceremonyDataSchemas)[K]>;

/** The ceremony's data, parsed for its kind; null when it does not have that shape. */
export function ceremonyData<K extends CeremonyKind>(ceremony: Pick<Ceremony, 'kind' | 'data'>, kind: K): CeremonyData<K> | null {
  if (ceremony.kind !== kind) return null;
  const parsed = ceremonyDataSchemas[kind].safeParse(ceremony.data);
  return parsed.success ? (parsed.data as CeremonyData<K>) : null;
}
