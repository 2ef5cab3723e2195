import { serve, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { deleteStaleCeremonies } from './ceremonies/ceremonies.ts';
import type { Db } from './db/database.ts';
import { openDatabaseAndKeys } from './db/open.ts';
import { migrateToLatest } from './db/migrate.ts';
import { deleteExpiredRateLimits } from './rate-limits/rate-limits.ts';
import { createLogger, type Logger } from './logger.ts';
import type { Metrics } from './metrics/metrics.ts';
import { startNotificationWorker } from './notifications/worker.ts';
import { startAuditCheckpointer } from './audit/checkpoints.ts';
import { startRecoveryWorker } from './recovery/recovery.ts';
import { createDeferredWork } from './deferred-work.ts';
import { mailerFor } from './notifications/transport.ts';
import { deleteExpiredOidcPayloads } from './oidc/adapter.ts';
import { endGrantsOfEndedSessions } from './oidc/logout.ts';
import { createOidc } from './oidc/provider.ts';

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  /**
   * Graceful: stop accepting, let in-flight requests finish (idle keep-alive connections are
   * closed; after LATCH_SHUTDOWN_TIMEOUT_SECONDS the rest are cut), then close the pool.
   */
  close(): Promise<void>;
}

const CEREMONY_SWEEP_MS = 10 * 60 * 1000;
/** How soon an app hears (back-channel logout) that the user's Latch session ended; their tokens stop at once regardless. */
const OIDC_LOGOUT_SWEEP_MS = 5 * 1000;
/**
 * Node's limit on the request line plus headers (its default, stated): a request with more (say,
 * a pile of cookies) is refused with 431 before any of our code runs.
 */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** false in cluster workers: the primary migrated before forking them. */
  migrate?: boolean;
  metrics?: Metrics | null;
}

/** config → database → keys → migrate → serve. Used by `npm start` and by the browser tests. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;

  const { db, keyring } = await openDatabaseAndKeys(config, logger);

  if (options.migrate !== false) await migrateToLatest(db);
  const oidc = createOidc({ db, keyring, config, logger });
  const deferred = createDeferredWork(logger);
  const app = createApp({ db, config, keyring, clock, logger, oidc, deferred, ...(options.metrics !== undefined ? { metrics: options.metrics } : {}) });

  const { timeouts } = config;
  const server = await new Promise<ServerType>((resolveServer, rejectServer) => {
    const started = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        // Slow clients: the headers must arrive within headersTimeout, the whole request within
        // requestTimeout (Slowloris); an idle keep-alive connection closes after keepAliveTimeout.
        serverOptions: {
          maxHeaderSize: MAX_HEADER_BYTES,
          headersTimeout: timeouts.headersSeconds * 1000,
          requestTimeout: timeouts.requestSeconds * 1000,
          keepAliveTimeout: timeouts.keepAliveSeconds * 1000,
        },
      },
      () => resolveServer(started),
    );
    started.once('error', rejectServer);
  });
  const httpServer = server as Server;
  // Also as properties: not every Node 20 release reads all of them from the options.
  httpServer.headersTimeout = timeouts.headersSeconds * 1000;
  httpServer.requestTimeout = timeouts.requestSeconds * 1000;
  httpServer.keepAliveTimeout = timeouts.keepAliveSeconds * 1000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const sweep = setInterval(() => {
    deleteStaleCeremonies(db, clock.now()).catch((error: Error) => logger.warn('ceremony sweep failed', { errorName: error.name }));
    deleteExpiredRateLimits(db, clock.now()).catch((error: Error) => logger.warn('rate-limit sweep failed', { errorName: error.name }));
    deleteExpiredOidcPayloads(db, new Date()).catch((error: Error) => logger.warn('oidc sweep failed', { errorName: error.name }));
  }, CEREMONY_SWEEP_MS);
  sweep.unref();
  // Ended Latch sessions reach the apps: grants deleted, back-channel logout sent (src/oidc/logout.ts).
  const oidcLogout = setInterval(() => {
    endGrantsOfEndedSessions({ db, logger }, oidc).catch((error: Error) => logger.warn('oidc logout sweep failed', { errorName: error.name }));
  }, OIDC_LOGOUT_SWEEP_MS);
  oidcLogout.unref();
  const notificationWorker = startNotificationWorker({ db, config, clock, logger });
  // Every instance runs it; an advisory lock and the checkpoint's unique number let one win each minute.
  const auditCheckpointer = startAuditCheckpointer({ db, keyring, clock, logger });
  // Recovery links whose wait is over go out; unused expired links end their request.
  const recoveryWorker = startRecoveryWorker({ db, keyring, config, logger, clock, mailer: () => mailerFor(config, logger) });

  const primary = new URL(config.origins[0]!);
  const url = config.port === 0 || primary.port === '' || Number(primary.port) === port ? config.origins[0]! : `http://localhost:${port}`;
  return {
    url: config.port === 0 ? `${primary.protocol}//${primary.hostname}:${port}` : url,
    port,
    db,
    async close() {
      clearInterval(sweep);
      clearInterval(oidcLogout);
      const closed = new Promise<void>((resolveClose) => httpServer.close(() => resolveClose()));
      // A keep-alive connection goes idle once its request is answered: close it then, not after keepAliveTimeout.
      const closeIdle = setInterval(() => httpServer.closeIdleConnections(), 50);
      httpServer.closeIdleConnections();
      const deadline = setTimeout(() => {
        logger.warn('shutdown: requests still running after the timeout, closing their connections', { seconds: timeouts.shutdownSeconds });
        httpServer.closeAllConnections();
      }, timeouts.shutdownSeconds * 1000);
      try {
        await closed;
      } finally {
        clearInterval(closeIdle);
        clearTimeout(deadline);
      }
      // Work the last requests started after answering (self-service recovery) finishes before the pool closes.
      await deferred.settled();
      await notificationWorker.stop();
      await auditCheckpointer.stop();
      await recoveryWorker.stop();
      await db.destroy();
    },
  };
}
