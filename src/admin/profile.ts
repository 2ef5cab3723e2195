import type { Kysely, Transaction } from 'kysely';
import { listAuditEventsForUser } from '../audit/audit.ts';
import type { AuditEvent, Database, Factor, User } from '../db/schema.ts';
import { authenticatorName, builtInAuthenticatorNames, type AuthenticatorNames } from '../factors/aaguid.ts';
import { groupsOfUser } from '../groups/groups.ts';
import { sessionSummary } from '../sessions/present.ts';
import { listLiveSessions } from '../sessions/sessions.ts';
import { findExemption, type Exemption } from './users.ts';

/**
 * One user as an administrator sees them: the account, groups, exemption, factors (what they are,
 * never any secret, key, hash or sealed value), live sessions, and that user's audit trail.
 */

export function adminUserView(user: User) {
  return {
    id: user.id,
    username: user.username,
    displayName: user.display_name,
    email: user.email,
    emailVerified: user.email_verified_at !== null,
    status: user.status,
    isAdmin: user.is_admin,
    createdAt: user.created_at.toISOString(),
    disabledAt: user.disabled_at?.toISOString() ?? null,
  };
}

/** Only what identifies a factor to a person: kind, label, authenticator, dates, and the clone flag. */
export function adminFactorView(factor: Factor, names: AuthenticatorNames = builtInAuthenticatorNames) {
  return {
    id: factor.id,
    kind: factor.kind,
    label: factor.label,
    authenticatorName: factor.kind === 'passkey' ? authenticatorName(names, factor.aaguid) : null,
    createdAt: factor.created_at.toISOString(),
    lastUsedAt: factor.last_used_at?.toISOString() ?? null,
    flagged: factor.flagged_at !== null,
    flaggedReason: factor.flagged_reason,
    synced: factor.kind === 'passkey' ? factor.backed_up === true : null,
    userVerified: factor.kind === 'passkey' ? factor.user_verified === true : null,
  };
}

export function adminAuditView(event: AuditEvent) {
  return {
    id: String(event.id),
    occurredAt: event.occurred_at.toISOString(),
    action: event.action,
    outcome: event.outcome,
    actorUserId: event.actor_user_id,
    factorId: event.factor_id,
    sessionId: event.session_id,
    clientAddress: event.client_address,
    details: event.details,
  };
}

export interface UserProfile {
  user: ReturnType<typeof adminUserView>;
  groups: { id: string; name: string; isDefault: boolean }[];
  exemption: Exemption | null;
  factors: ReturnType<typeof adminFactorView>[];
  sessions: ReturnType<typeof sessionSummary>[];
  audit: { events: ReturnType<typeof adminAuditView>[]; nextBefore: string | null };
}

export async function userProfile(
  db: Kysely<Database> | Transaction<Database>,
  user: User,
  now: Date,
  options: { names?: AuthenticatorNames; auditLimit?: number; auditBefore?: string | null } = {},
): Promise<UserProfile> {
  // One after another: inside a transaction they share one connection anyway.
  const groups = await groupsOfUser(db, user.id);
  const exemption = await findExemption(db, user.id, now);
  const factors = await db.selectFrom('factors').selectAll().where('user_id', '=', user.id).where('status', '=', 'active').orderBy('created_at', 'asc').execute();
  const sessions = await listLiveSessions(db, user.id, now);
  const audit = await listAuditEventsForUser(db, user.id, { limit: options.auditLimit ?? 50, before: options.auditBefore ?? null });
  return {
    user: adminUserView(user),
    groups: groups.map((group) => ({ id: group.id, name: group.name, isDefault: group.is_default })),
    exemption,
    factors: factors.map((factor) => adminFactorView(factor, options.names)),
    sessions: sessions.map(sessionSummary),
    audit: { events: audit.events.map(adminAuditView), nextBefore: audit.nextBefore },
  };
}
