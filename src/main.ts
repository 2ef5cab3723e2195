import { ConfigError, loadConfig } from './config.ts';
import { startServer } from './server.ts';

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

  const server = await startServer(config);
  process.stdout.write(`\nLatch is running: open ${server.url}\n\n`);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`latch: ${signal}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
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
