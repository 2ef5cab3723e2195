import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.ts';
import { connectPostgres } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { serveClusterMetrics } from './metrics/metrics.ts';

/**
 * WORKERS=N: this (primary) process migrates the database once, then forks N workers that share
 * the one port (node:cluster hands connections round-robin). Nothing another worker must see
 * lives in a worker's memory: sessions, ceremonies, counters and one-time codes are in
 * PostgreSQL, so a request may land on any worker — or any host behind a load balancer.
 * A worker that dies is replaced; SIGTERM/SIGINT is passed on and the primary exits once every
 * worker has drained.
 */
export async function runPrimary(config: Config, logger: Logger, onReady: (port: number) => void): Promise<void> {
  const db = connectPostgres(config.databaseUrl!, { max: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }

  if (config.metrics) serveClusterMetrics();
  let stopping = false;
  let announced = false;
  const fork = () => cluster.fork({ LATCH_CLUSTER_WORKER: '1' });
  cluster.on('listening', (_worker: Worker, address) => {
    if (!announced) {
      announced = true;
      onReady(address.port);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error('worker exited; starting another', { workerPid: worker.process.pid, code, signal });
    fork();
  });
  for (let i = 0; i < config.workers; i++) fork();

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`latch: ${signal}, shutting down ${config.workers} workers\n`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
