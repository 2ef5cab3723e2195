import type { Session } from '../../db/schema.ts';
import { sessionSummary } from '../../sessions/present.ts';

/** The session as the API shows it to its owner: the summary an administrator sees, and its lifetimes. */
export function publicSession(session: Session, currentSessionId?: string) {
  return {
    ...sessionSummary(session),
    absoluteExpiresAt: session.absolute_expires_at.toISOString(),
    steppedUpAt: session.stepped_up_at?.toISOString() ?? null,
    lastVerifiedAt: session.last_verified_at.toISOString(),
    ...(currentSessionId !== undefined ? { current: session.id === currentSessionId } : {}),
  };
}
