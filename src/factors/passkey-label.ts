import { authenticatorName, builtInAuthenticatorNames, type AuthenticatorNames } from './aaguid.ts';
import { describeBrowser } from './remembered-devices.ts';

/**
 * The name a passkey gets when the user gave none, so two passkeys in a list do not look alike
 * ("Passkey · This device only" twice). In order: the authenticator's own name from its AAGUID
 * ("iCloud Keychain", "YubiKey 5 Series"); for a key that only travels by USB, NFC or Bluetooth,
 * "Security key"; else the browser and platform it was made in ("Chrome on Android"); else
 * "Security key". A name already used by another of the user's passkeys gets a number ("… 2").
 */
export const MAX_PASSKEY_LABEL_LENGTH = 64;

const ROAMING_TRANSPORTS = new Set(['usb', 'nfc', 'ble', 'smart-card']);

export interface LabelContext {
  /** The browser that made the passkey (the request's user agent). */
  userAgent: string | null;
  names?: AuthenticatorNames;
  /** The labels of the user's other passkeys. */
  taken?: readonly (string | null)[];
}

export function defaultPasskeyLabel(passkey: { aaguid: string | null; transports: readonly string[] }, context: LabelContext): string {
  return distinctLabel(baseLabel(passkey, context), context.taken ?? []);
}

function baseLabel(passkey: { aaguid: string | null; transports: readonly string[] }, context: LabelContext): string {
  const named = authenticatorName(context.names ?? builtInAuthenticatorNames, passkey.aaguid);
  if (named) return named;
  const roamingOnly = passkey.transports.length > 0 && passkey.transports.every((transport) => ROAMING_TRANSPORTS.has(transport));
  if (roamingOnly) return 'Security key';
  const browser = context.userAgent ? describeBrowser(context.userAgent) : null;
  // describeBrowser says "Browser" when it recognises nothing: no better than the fallback.
  if (browser && browser !== 'Browser' && browser !== 'Unknown browser') return browser;
  return 'Security key';
}

/** `label`, or `label 2`, `label 3` … when the user already has a passkey called that. */
export function distinctLabel(label: string, taken: readonly (string | null)[]): string {
  const used = new Set(taken.filter((name): name is string => name !== null).map((name) => name.toLowerCase()));
  const base = label.slice(0, MAX_PASSKEY_LABEL_LENGTH);
  if (!used.has(base.toLowerCase())) return base;
  for (let n = 2; ; n++) {
    const suffix = ` ${n}`;
    const candidate = `${base.slice(0, MAX_PASSKEY_LABEL_LENGTH - suffix.length)}${suffix}`;
    if (!used.has(candidate.toLowerCase())) return candidate;
  }
}
