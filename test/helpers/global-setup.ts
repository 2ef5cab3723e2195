import type { TestProject } from 'vitest/node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { connectPostgres, openEmbedded } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

export const TEMPLATE_DATABASE = 'latch_test_template';

/**
 * Migrates once per run: into a template database on PostgreSQL (each test file clones it with
 * CREATE DATABASE … TEMPLATE), or into a PGlite dump on the embedded database (each file loads it).
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
    await admin.query(`create database ${TEMPLATE_DATABASE}`);
    await admin.end();
    const templateUrl = new URL(url);
    templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
    const db = connectPostgres(templateUrl.toString(), { max: 1 });
    await migrateToLatest(db);
    await db.destroy();
    project.provide('pgliteDumpPath', '');
    return;
  }
  const folder = await mkdtemp(join(tmpdir(), 'latch-test-'));
  const dumpPath = join(folder, 'migrated.tar');
  const { db, pglite } = await openEmbedded(null);
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  await writeFile(dumpPath, Buffer.from(await dump.arrayBuffer()));
  await db.destroy();
  project.provide('pgliteDumpPath', dumpPath);
  return async () => {
    await rm(folder, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteDumpPath: string;
  }
}
