import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { loadOrCreateDevelopmentKeys } from '../crypto/dev-keys.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Logger } from '../logger.ts';
import { connectPostgres, openEmbedded, type Db } from './database.ts';

/**
 * The database and keys a configuration names: PostgreSQL at DATABASE_URL with the configured
 * keys, or the embedded database in LATCH_DATA_DIR with its development keys (generated there on
 * first use). The server and the `latch` CLI open them the same way.
 */
export async function openDatabaseAndKeys(config: Config, logger: Logger): Promise<{ db: Db; keyring: Keyring }> {
  if (config.databaseUrl) {
    logger.info('database', { kind: 'postgresql' });
    return { db: connectPostgres(config.databaseUrl, { max: config.dbPoolSize, preparedStatements: config.preparedStatements }), keyring: config.keys! };
  }
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const { db } = await openEmbedded(resolve(dataDir, 'pgdata'));
  logger.info('database', { kind: 'embedded', dataDir });
  if (config.keys) return { db, keyring: config.keys };
  // loadConfig refuses production without keys unless LATCH_ALLOW_DEVELOPMENT_KEYS says otherwise.
  if (config.production && !config.allowDevelopmentKeys) {
    throw new Error('NODE_ENV=production needs LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY (or LATCH_ALLOW_DEVELOPMENT_KEYS=true)');
  }
  const keys = await loadOrCreateDevelopmentKeys(dataDir);
  if (config.production) {
    logger.error('RUNNING IN PRODUCTION WITH DEVELOPMENT KEYS', {
      path: keys.path,
      note:
        'LATCH_ALLOW_DEVELOPMENT_KEYS=true: every TOTP secret is sealed with, and every session token and backup code hashed with, ' +
        'keys stored in plain text beside the database. Anyone with a copy of the data folder can read them. Set LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY.',
    });
  } else {
    logger.warn(keys.created ? 'generated development keys' : 'using development keys', {
      path: keys.path,
      note: 'for development only: production sets LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY',
    });
  }
  return { db, keyring: keys.keyring };
}
