import { serve, type ServerType } from '@hono/node-server';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { loadOrCreateDevelopmentKeys } from './crypto/dev-keys.ts';
import type { Keyring } from './crypto/keyring.ts';
import { deleteStaleCeremonies } from './ceremonies/ceremonies.ts';
import { connectPostgres, openEmbedded, type Db } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { deleteExpiredRateLimits } from './rate-limits/rate-limits.ts';
import { createLogger, type Logger } from './logger.ts';
import { startNotificationWorker } from './notifications/worker.ts';

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  close(): Promise<void>;
}

const CEREMONY_SWEEP_MS = 10 * 60 * 1000;

/** config → database → keys → migrate → serve. Used by `npm start` and by the browser tests. */
export async function startServer(config: Config, options: { clock?: Clock; logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;

  let db: Db;
  let keyring: Keyring;
  if (config.databaseUrl) {
    db = connectPostgres(config.databaseUrl);
    keyring = config.keys!;
    logger.info('database', { kind: 'postgresql' });
  } else {
    const dataDir = resolve(config.dataDir);
    await mkdir(dataDir, { recursive: true });
    ({ db } = await openEmbedded(resolve(dataDir, 'pgdata')));
    logger.info('database', { kind: 'embedded', dataDir });
    if (config.keys) {
      keyring = config.keys;
    } else {
      // loadConfig refuses production without keys unless LATCH_ALLOW_DEVELOPMENT_KEYS says otherwise.
      if (config.production && !config.allowDevelopmentKeys) {
        throw new Error('NODE_ENV=production needs LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY (or LATCH_ALLOW_DEVELOPMENT_KEYS=true)');
      }
      const keys = await loadOrCreateDevelopmentKeys(dataDir);
      keyring = keys.keyring;
      if (config.production) {
        logger.error('RUNNING IN PRODUCTION WITH DEVELOPMENT KEYS', {
          path: keys.path,
          note:
            'LATCH_ALLOW_DEVELOPMENT_KEYS=true: every TOTP secret is sealed with, and every session token and backup code hashed with, ' +
            'keys stored in plain text beside the database. Anyone with a copy of the data folder can read them. Set LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY.',
        });
      } else {
        logger.warn(
          keys.created ? 'generated development keys' : 'using development keys',
          { path: keys.path, note: 'for development only: production sets LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY' },
        );
      }
    }
  }

  await migrateToLatest(db);
  const app = createApp({ db, config, keyring, clock, logger });

  const server = await new Promise<ServerType>((resolveServer) => {
    const started = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolveServer(started));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const sweep = setInterval(() => {
    deleteStaleCeremonies(db, clock.now()).catch((error: Error) => logger.warn('ceremony sweep failed', { errorName: error.name }));
    deleteExpiredRateLimits(db, clock.now()).catch((error: Error) => logger.warn('rate-limit sweep failed', { errorName: error.name }));
  }, CEREMONY_SWEEP_MS);
  sweep.unref();
  const notificationWorker = startNotificationWorker({ db, config, clock, logger });

  const primary = new URL(config.origins[0]!);
  const url = config.port === 0 || primary.port === '' || Number(primary.port) === port ? config.origins[0]! : `http://localhost:${port}`;
  return {
    url: config.port === 0 ? `${primary.protocol}//${primary.hostname}:${port}` : url,
    port,
    db,
    async close() {
      clearInterval(sweep);
      await notificationWorker.stop();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      await db.destroy();
    },
  };
}
