import type { Config } from '../../config.ts';
import { buildOtpauthUri, encodeTotpSecret, renderQrCode } from '../../factors/totp.ts';

/** What the user's app needs to learn the secret. */
export interface TotpEnrollment {
  ceremonyId: string;
  otpauthUri: string;
  /** PNG data URL of otpauthUri. */
  qrCode: string;
  /** Base32 key for manual entry. */
  secret: string;
}

/** The one time the secret leaves the server: as URI, QR code and base32 for the user's app. */
export async function presentEnrollment(config: Pick<Config, 'rpName'>, ceremonyId: string, account: string, secret: Uint8Array): Promise<TotpEnrollment> {
  const otpauthUri = buildOtpauthUri(config.rpName, account, secret);
  return { ceremonyId, otpauthUri, qrCode: await renderQrCode(otpauthUri), secret: encodeTotpSecret(secret) };
}
