import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyring, type Keyring } from './keyring.ts';

interface StoredKeys {
  encryptionKeys: Record<string, string>;
  activeKeyId: string;
  hmacKey: string;
}

/**
 * The embedded development setup keeps generated keys in its data folder, so a restart can still
 * read the secrets it sealed. Production sets LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY instead.
 */
export async function loadOrCreateDevelopmentKeys(dataDir: string): Promise<{ keyring: Keyring; created: boolean; path: string }> {
  const path = join(dataDir, 'development-keys.json');
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as StoredKeys;
    return {
      keyring: {
        encryptionKeys: new Map(Object.entries(stored.encryptionKeys).map(([id, key]) => [id, Buffer.from(key, 'base64')])),
        activeKeyId: stored.activeKeyId,
        hmacKey: Buffer.from(stored.hmacKey, 'base64'),
      },
      created: false,
      path,
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keyring = generateKeyring();
  const stored: StoredKeys = {
    encryptionKeys: Object.fromEntries([...keyring.encryptionKeys].map(([id, key]) => [id, key.toString('base64')])),
    activeKeyId: keyring.activeKeyId,
    hmacKey: keyring.hmacKey.toString('base64'),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { keyring, created: true, path };
}
