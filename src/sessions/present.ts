import type { Session } from '../db/schema.ts';

/** A session as both its owner (src/http/routes/session-present.ts) and an administrator see it: where and how it was proved, never its token. */
export function sessionSummary(session: Session) {
  return {
    id: session.id,
    aal: session.aal,
    amr: session.amr,
    phishingResistant: session.phishing_resistant,
    recovery: session.recovery,
    createdAt: session.created_at.toISOString(),
    lastSeenAt: session.last_seen_at.toISOString(),
    expiresAt: session.idle_expires_at.toISOString(),
    clientAddress: session.client_address,
    userAgent: session.user_agent,
  };
}
