import { describe, expect, it } from 'vitest';
import { defaultPasskeyLabel, distinctLabel, MAX_PASSKEY_LABEL_LENGTH } from '../src/factors/passkey-label.ts';
import { createTestApp } from './helpers/app.ts';
import { addPasskey, passkeyRow, signedUpUser } from './helpers/passkeys.ts';

const ICLOUD = 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd';
const UNKNOWN = '00000000-0000-0000-0000-000000000000';
const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1';

/** Issue 12, point 5: two passkeys looked identical ("Passkey · This device only · Not used yet"). */
describe('a passkey added without a name gets one the user recognises', () => {
  it('the authenticator name from the AAGUID comes first', () => {
    expect(defaultPasskeyLabel({ aaguid: ICLOUD, transports: ['internal', 'hybrid'] }, { userAgent: CHROME_LINUX })).toBe('iCloud Keychain');
    const names = new Map([['11111111-2222-3333-4444-555555555555', 'Company key']]);
    expect(defaultPasskeyLabel({ aaguid: '11111111-2222-3333-4444-555555555555', transports: ['usb'] }, { userAgent: CHROME_LINUX, names })).toBe('Company key');
  });

  it('else the browser and platform it was made in', () => {
    expect(defaultPasskeyLabel({ aaguid: UNKNOWN, transports: ['internal'] }, { userAgent: CHROME_LINUX })).toBe('Chrome on Linux');
    expect(defaultPasskeyLabel({ aaguid: null, transports: [] }, { userAgent: SAFARI_IPHONE })).toBe('Safari on iOS');
  });

  it('a key that only travels by USB, NFC or Bluetooth is a security key, not the browser it was plugged into', () => {
    expect(defaultPasskeyLabel({ aaguid: UNKNOWN, transports: ['nfc', 'usb'] }, { userAgent: CHROME_LINUX })).toBe('Security key');
  });

  it('else "Security key"', () => {
    expect(defaultPasskeyLabel({ aaguid: UNKNOWN, transports: [] }, { userAgent: null })).toBe('Security key');
    expect(defaultPasskeyLabel({ aaguid: UNKNOWN, transports: [] }, { userAgent: 'curl/8.0' })).toBe('Security key');
  });

  it('a name the user already has gets a number, case-insensitively, within the label limit', () => {
    expect(distinctLabel('Chrome on Linux', [])).toBe('Chrome on Linux');
    expect(distinctLabel('Chrome on Linux', ['chrome on linux', null])).toBe('Chrome on Linux 2');
    expect(distinctLabel('Chrome on Linux', ['Chrome on Linux', 'Chrome on Linux 2'])).toBe('Chrome on Linux 3');
    const long = 'x'.repeat(80);
    const first = distinctLabel(long, []);
    expect(first).toHaveLength(MAX_PASSKEY_LABEL_LENGTH);
    const second = distinctLabel(long, [first]);
    expect(second).toHaveLength(MAX_PASSKEY_LABEL_LENGTH);
    expect(second.endsWith(' 2')).toBe(true);
  });
});

describe('through the API', () => {
  it('sign-up names the passkey and counts as its first use; added passkeys without a name are told apart', { timeout: 60_000 }, async () => {
    const t = await createTestApp();
    const { client, credential } = await signedUpUser(t, { aaguid: ICLOUD, transports: ['internal', 'hybrid'] });
    const signedUp = await passkeyRow(t, credential.id);
    expect(signedUp.label).toBe('iCloud Keychain');
    expect(signedUp.last_used_at).not.toBeNull();

    const { SoftAuthenticator } = await import('./helpers/soft-authenticator.ts');
    const first = new SoftAuthenticator({ transports: ['usb'] });
    const second = new SoftAuthenticator({ transports: ['usb'] });
    expect((await addPasskey(client, first)).response.status).toBe(201);
    expect((await addPasskey(client, second)).response.status).toBe(201);
    expect((await passkeyRow(t, first.credentials[0]!.id)).label).toBe('Security key');
    expect((await passkeyRow(t, second.credentials[0]!.id)).label).toBe('Security key 2');
    // Added, not used: no last use yet.
    expect((await passkeyRow(t, first.credentials[0]!.id)).last_used_at).toBeNull();

    // A name the user gives is kept as given.
    const named = new SoftAuthenticator({ transports: ['usb'] });
    expect((await addPasskey(client, named, { label: 'Blue key' })).response.status).toBe(201);
    expect((await passkeyRow(t, named.credentials[0]!.id)).label).toBe('Blue key');
  });
});
