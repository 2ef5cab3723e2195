import type { Session } from '../../db/schema.ts';

/** The session as the API shows it. */
export function publicSession(session: Session, currentSessionId?: string) {
  return {
    id: session.id,
    aal: session.aal,
    amr: session.amr,
    phishingResistant: session.phishing_resistant,
    recovery: session.recovery,
    createdAt: session.created_at.toISOString(),
    lastSeenAt: session.last_seen_at.toISOString(),
    expiresAt: session.idle_expires_at.toISOString(),
    absoluteExpiresAt: session.absolute_expires_at.toISOString(),
    steppedUpAt: session.stepped_up_at?.toISOString() ?? null,
    lastVerifiedAt: session.last_verified_at.toISOString(),
    clientAddress: session.client_address,
    userAgent: session.user_agent,
    ...(currentSessionId !== undefined ? { current: session.id === currentSessionId } : {}),
  };
}
