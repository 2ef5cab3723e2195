import { normalizeUsername } from '../users/users.ts';
import { z } from './router.ts';

/** A username as every route accepts it: 1–64 printable characters once normalised (NFKC, trimmed, lower-case). */
export const UsernameSchema = z
  .string()
  .max(256)
  .transform(normalizeUsername)
  .pipe(
    z
      .string()
      .min(1, 'must be 1–64 printable characters')
      .max(64, 'must be 1–64 printable characters')
      .refine((value) => !/[\p{Cc}\p{Cf}]/u.test(value), 'must be 1–64 printable characters'),
  );
