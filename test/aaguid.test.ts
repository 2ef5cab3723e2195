import { describe, expect, it } from 'vitest';
import { AaguidFileError, authenticatorName, builtInAuthenticatorNames, loadAuthenticatorNames, parseAuthenticatorNames } from '../src/factors/aaguid.ts';

describe('authenticator names from AAGUIDs', () => {
  it('knows the common providers built in', () => {
    const names = builtInAuthenticatorNames;
    expect(authenticatorName(names, 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd')).toBe('iCloud Keychain');
    expect(authenticatorName(names, 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4')).toBe('Google Password Manager');
    expect(authenticatorName(names, '08987058-cadc-4b81-b6e1-30de50dcbe96')).toBe('Windows Hello');
    expect(authenticatorName(names, 'bada5566-a7aa-401f-bd96-45619a55120d')).toBe('1Password');
    expect(authenticatorName(names, 'd548826e-79b4-db40-a3d8-11116f7e8349')).toBe('Bitwarden');
    expect(authenticatorName(names, '531126d6-e717-415c-9320-3d9aa6981239')).toBe('Dashlane');
    expect(authenticatorName(names, 'adce0002-35bc-c60a-648b-0b25f1f05503')).toBe('Chrome on Mac');
    expect(authenticatorName(names, 'cb69481e-8ff7-4039-93ec-0a2729a154a8')).toBe('YubiKey 5 Series');
    expect(authenticatorName(names, '00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(authenticatorName(names, null)).toBeNull();
  });

  it('reads the community list format, ignoring icons and other fields', () => {
    const names = parseAuthenticatorNames(JSON.stringify({ 'AAAAAAAA-0000-0000-0000-000000000001': { name: 'Custom', icon_dark: 'data:…', extra: 1 } }));
    expect(names.get('aaaaaaaa-0000-0000-0000-000000000001')).toBe('Custom');
  });

  it('a malformed file stops the start with a message naming the problem', () => {
    expect(() => parseAuthenticatorNames('{not json', 'x.json')).toThrow(AaguidFileError);
    expect(() => parseAuthenticatorNames(JSON.stringify({ 'not-an-aaguid': { name: 'X' } }), 'x.json')).toThrow(/AAGUID/);
    expect(() => parseAuthenticatorNames(JSON.stringify({ 'aaaaaaaa-0000-0000-0000-000000000001': { icon: 'no name' } }), 'x.json')).toThrow(AaguidFileError);
    expect(() => loadAuthenticatorNames('/nonexistent/aaguids.json')).toThrow(/LATCH_AAGUID_FILE/);
  });
});
