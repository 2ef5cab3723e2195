import type { RequestContext } from '../audit/audit.ts';
import type { AuthDeps } from '../auth/requester.ts';
import { systemClock, type Clock } from '../clock.ts';
import { loadConfig } from '../config.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { openDatabaseAndKeys } from '../db/open.ts';
import { createLogger } from '../logger.ts';

/** What every `latch` command gets: the server's dependencies, a clock, and where to print. */
export interface CliContext {
  deps: AuthDeps;
  clock: Clock;
  /** One line of output (stdout). */
  out(line: string): void;
}

/** The audit context of an operator's command: no address, the CLI as agent. */
export function cliRequestContext(context: CliContext): RequestContext {
  return { now: context.clock.now(), clientAddress: null, userAgent: 'latch-cli', requestId: null };
}

/**
 * Opens what the server opens, from the same environment: the embedded database in
 * LATCH_DATA_DIR or PostgreSQL at DATABASE_URL, with the same keys, migrated to the latest schema.
 * Only error log lines are written (to stderr), so stdout holds only the command's output.
 */
export async function openCliContext(env: Record<string, string | undefined>): Promise<CliContext & { close(): Promise<void> }> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel === 'silent' ? 'silent' : 'error', (line) => process.stderr.write(`${line}\n`));
  const { db, keyring } = await openDatabaseAndKeys(config, logger);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    deps: { db, keyring, config },
    clock: systemClock,
    out: (line) => process.stdout.write(`${line}\n`),
    close: () => db.destroy(),
  };
}
