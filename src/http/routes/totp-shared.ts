import { buildOtpauthUri, encodeTotpSecret, renderQrCode } from '../../factors/totp.ts';
import type { AppDeps } from '../context.ts';
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

/** The one time the secret leaves the server: as URI, QR code and base32 for the user's app. */
export async function presentEnrollment(deps: AppDeps, ceremonyId: string, account: string, secret: Uint8Array) {
  const otpauthUri = buildOtpauthUri(deps.config.rpName, account, secret);
  return { ceremonyId, otpauthUri, qrCode: await renderQrCode(otpauthUri), secret: encodeTotpSecret(secret) };
}
