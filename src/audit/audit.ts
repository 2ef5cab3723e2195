import type { Kysely, Transaction } from 'kysely';
import type { AuditEvent, AuditOutcome, Database } from '../db/schema.ts';

/** Who did it and from where: carried from the HTTP layer into every domain call that audits. */
export interface RequestContext {
  now: Date;
  clientAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  actorUserId?: string | null;
  subjectUserId?: string | null;
  factorId?: string | null;
  sessionId?: string | null;
  /** Never a secret: no codes, tokens, passwords, keys or challenges. */
  details?: Record<string, unknown>;
}

/**
 * Appends one audit row inside the caller's transaction, so the change and its record commit
 * together or not at all.
 */
export async function recordAudit(trx: Kysely<Database> | Transaction<Database>, context: RequestContext, entry: AuditEntry): Promise<void> {
  await auditInsert(trx, context, [entry]).execute();
}

/** The INSERT of several audit rows of one request, in one statement (ids ascend in the given order). */
export function auditInsert(trx: Kysely<Database> | Transaction<Database>, context: RequestContext, entries: AuditEntry[]) {
  return trx.insertInto('audit_events').values(
    entries.map((entry) => ({
      occurred_at: context.now,
      actor_user_id: entry.actorUserId ?? null,
      subject_user_id: entry.subjectUserId ?? null,
      action: entry.action,
      outcome: entry.outcome,
      factor_id: entry.factorId ?? null,
      session_id: entry.sessionId ?? null,
      client_address: context.clientAddress,
      user_agent: context.userAgent,
      request_id: context.requestId,
      details: JSON.stringify(entry.details ?? {}),
    })),
  );
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `before` for the next (older) page; null at the end. */
  nextBefore: string | null;
}

/** A user's own security events, newest first, paged by id. */
export async function listAuditEventsForUser(
  db: Kysely<Database> | Transaction<Database>,
  userId: string,
  options: { limit: number; before?: string | null },
): Promise<AuditPage> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .where('subject_user_id', '=', userId)
    .orderBy('id', 'desc')
    .limit(options.limit + 1);
  if (options.before) query = query.where('id', '<', options.before);
  const rows = await query.execute();
  const events = rows.slice(0, options.limit);
  return { events, nextBefore: rows.length > options.limit ? String(events.at(-1)!.id) : null };
}
