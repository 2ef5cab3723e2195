import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { runPrimary } from './cluster.ts';
import { createLogger } from './logger.ts';
import { startServer } from './server.ts';

function announce(url: string): void {
  process.stdout.write(`\nLatch is running: open ${url}\n\n`);
}

function publicUrl(config: Config, port: number): string {
  const primary = new URL(config.origins[0]!);
  if (config.port !== 0 && (primary.port === '' || Number(primary.port) === port)) return config.origins[0]!;
  return `${primary.protocol}//${primary.hostname}:${port}`;
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`latch: ${error.message}\nSee README.md, "Configuration".\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);

  if (config.workers > 1 && cluster.isPrimary) {
    await runPrimary(config, logger, (port) => announce(publicUrl(config, port)));
    return;
  }

  const worker = cluster.isWorker;
  const server = await startServer(config, { logger, migrate: !worker });
  if (!worker) announce(server.url);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    if (!worker) process.stdout.write(`latch: ${signal}, shutting down\n`);
    logger.info('shutting down', { signal });
    server.close().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error('shutdown failed', { errorName: error.name });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: Error) => {
  // Start-up failures (database unreachable, migration failed) name the problem without a stack.
  process.stderr.write(`latch: could not start: ${error.name}: ${error.message}\n`);
  if ((error as { cause?: Error }).cause) process.stderr.write(`  cause: ${(error as { cause?: Error }).cause?.message}\n`);
  process.exit(1);
});
