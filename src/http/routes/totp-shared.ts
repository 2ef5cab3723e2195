import { z } from '../router.ts';

/** A code as people type it: spaces (some apps show "123 456") are dropped before the format check. */
export const CodeSchema = z
  .string()
  .max(32)
  .transform((code) => code.replace(/\s+/g, ''))
  .pipe(z.string().regex(/^\d{6,8}$/, 'must be the 6-digit code from the authenticator app'));

export const EnrollmentSchema = z
  .object({
    ceremonyId: z.string(),
    otpauthUri: z.string(),
    qrCode: z.string().describe('PNG data URL of otpauthUri'),
    secret: z.string().describe('Base32 key for manual entry; shown only now'),
  })
  .openapi('TotpEnrollment');
