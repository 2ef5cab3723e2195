import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.ts';
import type { Database, Session } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { createSession, revokeSession, rotateSession, type SessionProof } from '../sessions/sessions.ts';
import { requestContext, type AppContext, type AppDeps } from './context.ts';
import { setSessionCookie } from './session-cookie.ts';

export function sessionLifetimes(deps: AppDeps) {
  return { idleSeconds: deps.config.sessionIdleSeconds, absoluteSeconds: deps.config.sessionAbsoluteSeconds };
}

/**
 * Signs the user in: ends whatever session this browser had (a sign-in always gets a new id, so a
 * planted token is useless), creates the new one, audits it and sets the cookie.
 */
export async function startSession(c: AppContext, deps: AppDeps, trx: Transaction<Database>, userId: string, proof: SessionProof): Promise<Session> {
  const context = requestContext(c);
  const previous = c.get('auth');
  if (previous) await revokeSession(trx, previous.session.id, 'signed_out', context.now);
  const { session, token } = await createSession(trx, deps.keyring, userId, proof, sessionLifetimes(deps), context);
  await recordAudit(trx, context, {
    action: 'session.create',
    outcome: 'success',
    actorUserId: userId,
    subjectUserId: userId,
    sessionId: session.id,
    details: { aal: proof.aal, amr: proof.amr, recovery: proof.recovery ?? false },
  });
  setSessionCookie(c, token, session.absolute_expires_at, context.now);
  return session;
}

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

/**
 * Finishes a step-up (passkey or TOTP): records the fresh proof on the session, rotates its token
 * (the old cookie stops working), audits, and sets the new cookie. Returns the session as shown.
 */
export async function completeStepUp(
  c: AppContext,
  deps: AppDeps,
  trx: Transaction<Database>,
  proof: { factorId: string; method: 'passkey' | 'totp'; amr: string[]; aal?: 1 | 2 | 3; phishingResistant?: boolean },
) {
  const context = requestContext(c);
  const auth = c.get('auth');
  if (!auth) throw new LatchError('unauthenticated');
  const rotated = await rotateSession(trx, deps.keyring, auth.session.id, context.now, {
    stepUp: true,
    amr: proof.amr,
    ...(proof.aal ? { aal: proof.aal } : {}),
    ...(proof.phishingResistant ? { phishingResistant: true } : {}),
  });
  if (!rotated) throw new LatchError('unauthenticated');
  await recordAudit(trx, context, {
    action: 'session.step_up',
    outcome: 'success',
    actorUserId: auth.user.id,
    subjectUserId: auth.user.id,
    sessionId: auth.session.id,
    factorId: proof.factorId,
    details: { method: proof.method },
  });
  setSessionCookie(c, rotated.token, rotated.session.absolute_expires_at, context.now);
  return publicSession(rotated.session);
}
