import { Migrator, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import type { Db } from './database.ts';

export class MigrationError extends Error {
  constructor(message: string, override readonly cause: unknown) {
    super(message);
    this.name = 'MigrationError';
  }
}

/**
 * Brings the schema up to date. Kysely's migrator takes a PostgreSQL advisory lock, so several
 * instances starting at once migrate once and the rest wait.
 */
export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed`, result.error);
  }
  return result;
}

export async function migrateDown(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  return migrator.migrateDown();
}
