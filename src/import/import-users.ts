import { sql, type Transaction } from 'kysely';
import type { Config } from '../config.ts';
import { randomToken, type Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { createEnrollmentLink, enrollmentUrl } from '../enrollment/links.ts';
import { hashBackupCode } from '../factors/backup-codes.ts';
import { sealTotpSecret } from '../factors/totp.ts';
import { insertRows } from './bulk-insert.ts';
import { describeIssues, importRecordSchema, type ImportRecord } from './record.ts';

/**
 * What an adapter yields: a record to validate, or a line it could not even read (bad JSON, a
 * CSV row with the wrong number of fields). `line` is where the user starts in the file.
 */
export type SourceItem = { line: number; record: unknown } | { line: number; error: string };

export interface ImportDeps {
  db: Db;
  keyring: Keyring;
  config: Pick<Config, 'origins'>;
}

export interface ImportCounts {
  imported: number;
  updated: number;
  skipped: number;
  failed: number;
}

export interface ImportSummary extends ImportCounts {
  errors: { line: number; reason: string }[];
  /** New users without a second factor: each got an enrollment link, or none when no writeLink was given. */
  needEnrollment: number;
}

export interface ImportOptions {
  /** Every imported user also joins this group (created when missing). */
  group?: string;
  /** Validate and count, write nothing (each batch runs and is rolled back), hand out no links. */
  dryRun: boolean;
  /** How long the enrollment link of a user without a second factor stays usable. */
  linkTtlSeconds: number;
  now: Date;
  /** The source's name for the audit rows (jsonl, keycloak, authelia). */
  format?: string;
  batchSize?: number;
  onProgress?(counts: ImportCounts): void;
  /**
   * Receives the single-use enrollment link of each new user without a second factor, after the
   * batch committed. The CLI writes them to the --links file, never to the log. Without it no
   * link is made (the summary's needEnrollment says how many users are waiting for one).
   */
  writeLink?(username: string, url: string): void | Promise<void>;
}

export const DEFAULT_BATCH_SIZE = 500;
/** Failures kept in the summary; the counts stay exact beyond it. */
const MAX_REPORTED_ERRORS = 1000;

interface Pending {
  line: number;
  record: ImportRecord;
}

class DryRunRollback extends Error {}

/**
 * Imports users from a stream of records, in batches of `batchSize` per transaction (multi-row
 * INSERTs), holding one batch in memory at a time.
 *
 * The rule for a username that already exists: its account is left as it is (password, factors,
 * email, name) — an import never overwrites credentials — and only the group memberships the
 * record and --group name are added; the user counts as `updated` when one was added, `skipped`
 * otherwise. So a re-run of the same file changes nothing. A username seen twice in one file: the
 * later line fails.
 *
 * Password hashes are stored as given (verified and re-hashed to argon2id at the user's first
 * sign-in); TOTP secrets are sealed to the user as enrollment does; backup codes are stored as
 * keyed hashes. A new user without a TOTP or backup codes gets a single-use enrollment link
 * (through `writeLink`): their password alone never opens a session.
 */
export async function importUsers(deps: ImportDeps, source: AsyncIterable<SourceItem>, options: ImportOptions): Promise<ImportSummary> {
  if (options.group !== undefined) {
    const name = normalizeGroupName(options.group);
    if (name.length < 1 || name.length > 64) throw new RangeError('the group name must be 1–64 characters');
  }
  const summary: ImportSummary = { imported: 0, updated: 0, skipped: 0, failed: 0, errors: [], needEnrollment: 0 };
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const firstLineOf = new Map<string, number>();
  let batch: Pending[] = [];

  const fail = (line: number, reason: string) => {
    summary.failed++;
    if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push({ line, reason });
  };
  // One batch is written while the next is read and validated: the database and the parsing overlap.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    await writing;
    writing = writeBatchIsolatingFailures(deps, current, options, summary, fail).then(() => options.onProgress?.(countsOf(summary)));
    // Awaited at the next flush or at the end; until then a failure must not count as unhandled.
    writing.catch(() => {});
  };

  for await (const item of source) {
    if ('error' in item) {
      fail(item.line, item.error);
      continue;
    }
    const parsed = importRecordSchema.safeParse(item.record);
    if (!parsed.success) {
      fail(item.line, describeIssues(parsed.error));
      continue;
    }
    const earlier = firstLineOf.get(parsed.data.username);
    if (earlier !== undefined) {
      fail(item.line, `username also on line ${earlier}`);
      continue;
    }
    firstLineOf.set(parsed.data.username, item.line);
    batch.push({ line: item.line, record: parsed.data });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  await writing;
  summary.errors.sort((a, b) => a.line - b.line);
  return summary;
}

function countsOf(summary: ImportSummary): ImportCounts {
  return { imported: summary.imported, updated: summary.updated, skipped: summary.skipped, failed: summary.failed };
}

/**
 * Writes a batch in one transaction. When the database refuses it (a constraint our validation
 * did not foresee), each record is retried alone, so one bad line fails alone.
 */
async function writeBatchIsolatingFailures(deps: ImportDeps, batch: Pending[], options: ImportOptions, summary: ImportSummary, fail: (line: number, reason: string) => void) {
  try {
    const outcome = await writeBatch(deps, batch, options);
    summary.imported += outcome.imported;
    summary.updated += outcome.updated;
    summary.skipped += outcome.skipped;
    summary.needEnrollment += outcome.needEnrollment;
    return;
  } catch (error) {
    if (batch.length === 1) {
      fail(batch[0]!.line, databaseReason(error));
      return;
    }
  }
  for (const one of batch) await writeBatchIsolatingFailures(deps, [one], options, summary, fail);
}

/** The constraint's name, never the row: a database error's detail can quote the values. */
function databaseReason(error: unknown): string {
  const constraint = (error as { constraint?: string }).constraint;
  return constraint ? `refused by the database (${constraint})` : 'refused by the database';
}

interface BatchOutcome {
  imported: number;
  updated: number;
  skipped: number;
  needEnrollment: number;
}

async function writeBatch(deps: ImportDeps, batch: Pending[], options: ImportOptions): Promise<BatchOutcome> {
  const links: { username: string; token: string }[] = [];
  let outcome: BatchOutcome = { imported: 0, updated: 0, skipped: 0, needEnrollment: 0 };
  try {
    await deps.db.transaction().execute(async (trx) => {
      // No waiting for the WAL flush at each batch's commit: a crash loses at most the last
      // batches, and re-running the file (idempotent) writes them again.
      await sql`set local synchronous_commit = off`.execute(trx);
      outcome = await writeBatchIn(trx, deps, batch, options, links);
      if (options.dryRun) throw new DryRunRollback();
    });
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error;
  }
  // Only after the commit: a link handed out for a rolled-back user would open nothing.
  if (!options.dryRun && options.writeLink) {
    for (const link of links) await options.writeLink(link.username, enrollmentUrl(deps.config.origins[0]!, link.token));
  }
  return outcome;
}

async function writeBatchIn(trx: Transaction<Database>, deps: ImportDeps, batch: Pending[], options: ImportOptions, links: { username: string; token: string }[]): Promise<BatchOutcome> {
  const { now } = options;
  const usernames = batch.map((one) => one.record.username);
  const existing = new Map(
    (await trx.selectFrom('users').select(['id', 'username']).where('username', 'in', usernames).execute()).map((row) => [row.username, row.id]),
  );
  const fresh = batch.filter((one) => !existing.has(one.record.username));

  const created = await insertRows<{ id: string; username: string }>(
    trx,
    'users',
    { username: 'text', display_name: 'text', webauthn_user_id: 'text', status: 'text', created_at: 'timestamptz', updated_at: 'timestamptz', disabled_at: 'timestamptz', email: 'text', email_verified_at: 'timestamptz' },
    fresh.map(({ record }) => ({
      username: record.username,
      display_name: record.displayName || record.username,
      webauthn_user_id: randomToken(32),
      status: record.disabled ? 'disabled' : 'active',
      created_at: now,
      updated_at: now,
      disabled_at: record.disabled ? now : null,
      email: record.email ?? null,
      email_verified_at: record.email && record.emailVerified ? now : null,
    })),
    // A user created meanwhile (another import, a sign-up) is left alone, like an existing one.
    { onConflictDoNothing: ['username'], returning: ['id', 'username'] },
  );
  const createdIds = new Map(created.map((row) => [row.username, row.id]));
  const recordOf = new Map(batch.map((one) => [one.record.username, one.record]));

  const factorRows: Record<string, unknown>[] = [];
  const backupCodeSets: { userId: string; codes: string[] }[] = [];
  for (const [username, userId] of createdIds) {
    const record = recordOf.get(username)!;
    if (record.passwordHash) {
      factorRows.push({ user_id: userId, kind: 'password', label: null, status: 'active', created_at: now, activated_at: now, password_hash: record.passwordHash });
    }
    if (record.totp) {
      const sealed = sealTotpSecret(deps.keyring, userId, record.totp.secret);
      factorRows.push({
        user_id: userId,
        kind: 'totp',
        label: 'Imported',
        status: 'active',
        created_at: now,
        activated_at: now,
        secret_sealed: sealed.sealed,
        key_id: sealed.keyId,
        algorithm: record.totp.algorithm,
        digits: record.totp.digits,
        period_seconds: record.totp.period,
        last_used_step: null,
      });
    }
    if (record.backupCodes.length > 0) backupCodeSets.push({ userId, codes: record.backupCodes });
  }
  await insertRows(
    trx,
    'factors',
    {
      user_id: 'uuid',
      kind: 'text',
      label: 'text',
      status: 'text',
      created_at: 'timestamptz',
      activated_at: 'timestamptz',
      password_hash: 'text',
      secret_sealed: 'text',
      key_id: 'text',
      algorithm: 'text',
      digits: 'integer',
      period_seconds: 'integer',
      last_used_step: 'bigint',
    },
    factorRows,
  );
  if (backupCodeSets.length > 0) {
    const sets = await trx
      .insertInto('factors')
      .values(backupCodeSets.map(({ userId }) => ({ user_id: userId, kind: 'backup_codes', label: null, status: 'active', created_at: now, activated_at: now })) as never)
      .returning(['id', 'user_id'])
      .execute();
    const setOf = new Map(sets.map((set) => [set.user_id, set.id]));
    const codeRows = backupCodeSets.flatMap(({ userId, codes }) =>
      [...new Set(codes)].map((code) => ({ factor_id: setOf.get(userId)!, code_hash: hashBackupCode(deps.keyring, code), used_at: null })),
    );
    await trx.insertInto('backup_codes').values(codeRows).execute();
  }

  // Memberships, for new and existing users alike (additive: re-adding one changes nothing).
  const userIdOf = new Map([...existing, ...createdIds]);
  const wanted: { userId: string; group: string }[] = [];
  const extraGroup = options.group ? normalizeGroupName(options.group) : null;
  for (const [username, userId] of userIdOf) {
    const groups = new Set(recordOf.get(username)!.groups);
    if (extraGroup) groups.add(extraGroup);
    for (const group of groups) wanted.push({ userId, group });
  }
  const joined = new Set<string>();
  if (wanted.length > 0) {
    const names = [...new Set(wanted.map((one) => one.group))];
    await trx
      .insertInto('groups')
      .values(names.map((name) => ({ name, created_at: now, updated_at: now })))
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const groupIds = new Map((await trx.selectFrom('groups').select(['id', 'name']).where('name', 'in', names).execute()).map((row) => [row.name, row.id]));
    const added = await insertRows<{ user_id: string }>(
      trx,
      'group_members',
      { group_id: 'uuid', user_id: 'uuid', added_at: 'timestamptz' },
      wanted.map(({ userId, group }) => ({ group_id: groupIds.get(group)!, user_id: userId, added_at: now })),
      { onConflictDoNothing: ['group_id', 'user_id'], returning: ['user_id'] },
    );
    for (const row of added) joined.add(row.user_id);
  }

  let needEnrollment = 0;
  for (const [username, userId] of createdIds) {
    const record = recordOf.get(username)!;
    if (record.totp || record.backupCodes.length > 0 || record.disabled) continue;
    needEnrollment++;
    if (!options.writeLink) continue;
    const { token } = await createEnrollmentLink(trx, deps.keyring, { userId, purpose: 'import', ttlSeconds: options.linkTtlSeconds, createdBy: null, now });
    links.push({ username, token });
  }

  // One audit row per user the import changed, in the same transaction; never a secret in it.
  const auditRows = [
    ...[...createdIds].map(([username, userId]) => {
      const record = recordOf.get(username)!;
      const factors = [record.passwordHash ? 'password' : null, record.totp ? 'totp' : null, record.backupCodes.length > 0 ? 'backup_codes' : null].filter(Boolean);
      return auditRow(now, userId, 'user.imported', { format: options.format ?? null, factors, enrollmentLink: !record.totp && record.backupCodes.length === 0 && !record.disabled && options.writeLink !== undefined });
    }),
    ...[...existing.values()].filter((userId) => joined.has(userId)).map((userId) => auditRow(now, userId, 'user.import_groups_added', { format: options.format ?? null })),
  ];
  await insertRows(
    trx,
    'audit_events',
    { occurred_at: 'timestamptz', actor_user_id: 'uuid', subject_user_id: 'uuid', action: 'text', outcome: 'text', factor_id: 'uuid', session_id: 'uuid', client_address: 'text', user_agent: 'text', request_id: 'text', details: 'jsonb' },
    auditRows,
  );

  const updated = [...existing.values()].filter((userId) => joined.has(userId)).length;
  const raced = fresh.length - createdIds.size;
  return { imported: createdIds.size, updated, skipped: existing.size - updated + raced, needEnrollment };
}

function auditRow(now: Date, userId: string, action: string, details: Record<string, unknown>) {
  return {
    occurred_at: now,
    actor_user_id: null,
    subject_user_id: userId,
    action,
    outcome: 'success' as const,
    factor_id: null,
    session_id: null,
    client_address: null,
    user_agent: 'latch import',
    request_id: null,
    details: JSON.stringify(details),
  };
}

export function normalizeGroupName(name: string): string {
  return name.normalize('NFKC').trim().toLowerCase();
}
