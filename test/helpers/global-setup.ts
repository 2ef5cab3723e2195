import type { TestProject } from 'vitest/node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { connectPostgres, openEmbedded } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';


/**
 * Migrates once per run: into a template database on PostgreSQL (each test file clones it with
 * CREATE DATABASE … TEMPLATE), or into a PGlite dump on the embedded database (each file loads it).
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    // Unique per run, so two runs on one server (two checkouts, CI beside a developer) never collide.
    const TEMPLATE_DATABASE = `latch_template_${process.pid}_${Date.now().toString(36)}`;
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
    project.provide('templateDatabase', TEMPLATE_DATABASE);
    return async () => {
      const cleanup = new pg.Client({ connectionString: url });
      await cleanup.connect();
      const perFile = await cleanup.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [`${TEMPLATE_DATABASE}\\_f\\_%`]);
      for (const { datname } of perFile.rows) await cleanup.query(`drop database if exists ${datname} with (force)`);
      await cleanup.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
      await cleanup.end();
    };
  }
  const folder = await mkdtemp(join(tmpdir(), 'latch-test-'));
  const dumpPath = join(folder, 'migrated.tar');
  const { db, pglite } = await openEmbedded(null);
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  await writeFile(dumpPath, Buffer.from(await dump.arrayBuffer()));
  await db.destroy();
  project.provide('pgliteDumpPath', dumpPath);
  project.provide('templateDatabase', '');
  return async () => {
    await rm(folder, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteDumpPath: string;
    templateDatabase: string;
  }
}
