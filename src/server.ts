import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { deleteStaleCeremonies } from './ceremonies/ceremonies.ts';
import type { Db } from './db/database.ts';
import { openDatabaseAndKeys } from './db/open.ts';
import { migrateToLatest } from './db/migrate.ts';
import { deleteExpiredRateLimits } from './rate-limits/rate-limits.ts';
import { createLogger, type Logger } from './logger.ts';

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

  const { db, keyring } = await openDatabaseAndKeys(config, logger);

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

  const primary = new URL(config.origins[0]!);
  const url = config.port === 0 || primary.port === '' || Number(primary.port) === port ? config.origins[0]! : `http://localhost:${port}`;
  return {
    url: config.port === 0 ? `${primary.protocol}//${primary.hostname}:${port}` : url,
    port,
    db,
    async close() {
      clearInterval(sweep);
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      await db.destroy();
    },
  };
}
