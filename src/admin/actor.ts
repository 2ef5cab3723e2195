import type { AuditEntry } from '../audit/audit.ts';

/**
 * Who performs an administrative change: an admin through the API (their user and session), or
 * the operator at the `latch` command line (no user: whoever runs the CLI already holds the
 * database). The audit row names the admin as actor and the affected user as subject.
 */
export interface AdminActor {
  userId: string | null;
  sessionId: string | null;
  via: 'api' | 'cli';
}

export const CLI_ACTOR: AdminActor = { userId: null, sessionId: null, via: 'cli' };

/** The audit fields of an administrative change to `subjectUserId` (null: not about one user). */
export function byAdmin(actor: AdminActor, subjectUserId: string | null, details: Record<string, unknown> = {}): Pick<AuditEntry, 'actorUserId' | 'subjectUserId' | 'sessionId' | 'details'> {
  return { actorUserId: actor.userId, subjectUserId, sessionId: actor.sessionId, details: { ...details, via: actor.via } };
}
