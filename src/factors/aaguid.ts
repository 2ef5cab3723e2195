import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The authenticator's name from its AAGUID, so a user can tell "iCloud Keychain" from "YubiKey"
 * in their list. A built-in map of the common providers; a file in the community list's format
 * (github.com/passkeydeveloper/passkey-authenticator-aaguids, `aaguid.json`) adds to or overrides it.
 */
export type AuthenticatorNames = ReadonlyMap<string, string>;

const BUILT_IN: Record<string, string> = {
  // Platform and password-manager passkey providers
  'fbfc3007-154e-4ecc-8c0b-6e020557d7bd': 'iCloud Keychain',
  'dd4ec289-e01d-41c9-bb89-70fa845d4bf2': 'iCloud Keychain (Managed)',
  'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4': 'Google Password Manager',
  'adce0002-35bc-c60a-648b-0b25f1f05503': 'Chrome on Mac',
  'b5397666-4885-aa6b-cebf-e52262a439a2': 'Chromium Browser',
  '771b48fd-d3d4-4f74-9232-fc157ab0507a': 'Edge on Mac',
  '08987058-cadc-4b81-b6e1-30de50dcbe96': 'Windows Hello',
  '9ddd1817-af5a-4672-a2b9-3e3dd95000a9': 'Windows Hello',
  '6028b017-b1d4-4c02-b4b3-afcdafc96bb2': 'Windows Hello',
  'bada5566-a7aa-401f-bd96-45619a55120d': '1Password',
  'd548826e-79b4-db40-a3d8-11116f7e8349': 'Bitwarden',
  '531126d6-e717-415c-9320-3d9aa6981239': 'Dashlane',
  'b84e4048-15dc-4dd0-8640-f4f60813c8af': 'NordPass',
  '0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6': 'Keeper',
  'f3809540-7f14-49c1-a8b3-8f813b225541': 'Enpass',
  'b78a0a55-6ef8-d246-a042-ba0f6d55050c': 'LastPass',
  'fdb141b2-5d84-443e-8a35-4698c205a502': 'KeePassXC',
  '50726f74-6f6e-5061-7373-50726f746f6e': 'Proton Pass',
  '53414d53-554e-4700-0000-000000000000': 'Samsung Pass',
  'de503f9c-21a4-4f76-b4b7-558eb55c6f89': 'Devolutions',
  // Security keys
  'cb69481e-8ff7-4039-93ec-0a2729a154a8': 'YubiKey 5 Series',
  'ee882879-721c-4913-9775-3dfcce97072a': 'YubiKey 5 Series',
  'fa2b99dc-9e39-4257-8f92-4a30d23c4118': 'YubiKey 5 Series with NFC',
  '2fc0579f-8113-47ea-b116-bb5a8db9202a': 'YubiKey 5 Series with NFC',
  'c5ef55ff-ad9a-4b9f-b580-adebafe026d0': 'YubiKey 5Ci',
  'd8522d9f-575b-4866-88a9-ba99fa02f35b': 'YubiKey Bio Series',
  'b92c3f9a-c014-4056-887f-140a2501163b': 'Security Key by Yubico',
  'f8a011f3-8c0a-4d15-8006-17111f9edc7d': 'Security Key by Yubico',
  '149a2021-8ef6-4133-96b8-81f8d5b7f1f5': 'Security Key by Yubico with NFC',
  '6d44ba9b-f6ec-2e49-b930-0c8fe920cb73': 'Security Key by Yubico with NFC',
  'a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa': 'Security Key NFC by Yubico',
  'e77e3c64-05e3-428b-8824-0cbeb04b829d': 'Security Key NFC by Yubico',
  '42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3': 'Google Titan Security Key v2',
  'ee041bce-25e5-4cdb-8f86-897fd6418464': 'Feitian ePass FIDO2-NFC Authenticator',
  '833b721a-ff5f-4d00-bb2e-bdda3ec01e29': 'Feitian ePass FIDO2 Authenticator',
  '2cd2f727-f6ca-44da-8f48-5c2e5da000a2': 'Nitrokey 3 AM',
};

export const builtInAuthenticatorNames: AuthenticatorNames = new Map(Object.entries(BUILT_IN));

const AAGUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `{ "<aaguid>": { "name": "…", "icon_light"?: "…", "icon_dark"?: "…" } }`; other fields are ignored. */
const communityListSchema = z.record(
  z.string().transform((aaguid) => aaguid.toLowerCase()).pipe(z.string().regex(AAGUID_PATTERN, 'keys must be AAGUIDs')),
  z.object({ name: z.string().trim().min(1).max(128) }).passthrough(),
);

export class AaguidFileError extends Error {
  constructor(path: string, problem: string) {
    super(`LATCH_AAGUID_FILE (${path}): ${problem}`);
    this.name = 'AaguidFileError';
  }
}

/** Parses a file in the community list format; throws AaguidFileError naming the problem. */
export function parseAuthenticatorNames(text: string, path = 'file'): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AaguidFileError(path, 'is not valid JSON');
  }
  const parsed = communityListSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AaguidFileError(path, `${issue.path.join('.') || 'root'}: ${issue.message}`);
  }
  return new Map(Object.entries(parsed.data).map(([aaguid, entry]) => [aaguid, entry.name]));
}

/** The built-in names, overridden by the configured file (read once, at start: a bad file stops the start). */
export function loadAuthenticatorNames(path: string | null): AuthenticatorNames {
  if (!path) return builtInAuthenticatorNames;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AaguidFileError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return new Map([...builtInAuthenticatorNames, ...parseAuthenticatorNames(text, path)]);
}

/** Null for an unknown AAGUID and for the all-zero one (attestation "none" from a provider that hides it). */
export function authenticatorName(names: AuthenticatorNames, aaguid: string | null): string | null {
  if (!aaguid) return null;
  return names.get(aaguid.toLowerCase()) ?? null;
}
