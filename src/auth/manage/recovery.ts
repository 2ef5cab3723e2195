import { sql } from 'kysely';
import { LatchError } from '../../errors.ts';
import { recordAudit } from '../../audit/audit.ts';
import { normalizeEmail } from '../../email/address.ts';
import { claimAttempt, type AttemptRule } from '../../rate-limits/attempts.ts';
import { rateLimitKeys } from '../../rate-limits/rate-limits.ts';
import { cancelRecovery, findOpenRecovery, openSelfRecovery, presentOwnRecovery } from '../../recovery/recovery.ts';
import { findUserByUsername } from '../../users/users.ts';
import { signedIn, type AuthDeps, type Requester } from '../requester.ts';

/**
 * The user's side of a recovery while they can still sign in: see it, cancel it. (Signing in
 * already cancels it, so in practice a signed-in user only ever sees one cancelled by that.)
 */
export async function showOwnRecovery(deps: AuthDeps, requester: Requester) {
  const { user } = signedIn(requester);
  const request = await findOpenRecovery(deps.db, user.id);
  return { recovery: request ? presentOwnRecovery(request) : null };
}

export async function cancelOwnRecovery(deps: AuthDeps, requester: Requester) {
  const { user, session } = signedIn(requester);
  return deps.db.transaction().execute(async (trx) => {
    const request = await trx.selectFrom('recovery_requests').selectAll().where('user_id', '=', user.id).where('status', 'in', ['requested', 'waiting', 'ready']).forUpdate().executeTakeFirst();
    if (!request) throw new LatchError('recovery_not_found');
    const cancelled = await cancelRecovery(trx, requester, request, { actorUserId: user.id, sessionId: session.id, reason: 'by_user' });
    return { recovery: presentOwnRecovery(cancelled) };
  });
}

/** Per client address: asking is cheap for the asker and mails a stranger, so it is capped. */
export const selfRecoveryPerAddress: AttemptRule = { kind: 'cap', limit: 5, windowSeconds: 60 * 60, lockoutSeconds: 60 * 60 };

/**
 * POST /api/recovery/self (signed out, only with LATCH_SELF_RECOVERY=email), the part the answer
 * waits for: whether the feature is on, and the per-address cap. Nothing here looks at the
 * account, so the answer (and the database work before it) is the same whoever is named; the
 * lookup and the opening are `openSelfRecoveryNamed`, run after the answer (src/deferred-work.ts).
 */
export async function acceptSelfRecovery(deps: AuthDeps, requester: Requester): Promise<{ accepted: true }> {
  if (deps.config.recovery.selfService !== 'email') throw new LatchError('recovery_self_service_off');
  const claim = await claimAttempt(deps.db, rateLimitKeys.address('recovery-self', requester.clientAddress), selfRecoveryPerAddress, requester.now);
  if (!claim.allowed) throw new LatchError('rate_limited', undefined, { retryAfterSeconds: claim.retryAfterSeconds });
  return { accepted: true };
}

/**
 * After the answer: finds the account by username or confirmed address and opens its request
 * (openSelfRecovery says no to "no confirmed address", "one is open already", "too many").
 */
export async function openSelfRecoveryNamed(deps: AuthDeps, requester: Requester, input: { identifier: string }): Promise<void> {
  const email = input.identifier.includes('@') ? normalizeEmail(input.identifier) : null;
  // An address matches case-insensitively (as sameAddress does), and only if it names one account.
  const byEmail = email
    ? await deps.db.selectFrom('users').select('id').where(sql<string>`lower(email)`, '=', email.toLowerCase()).where('email_verified_at', 'is not', null).limit(2).execute()
    : [];
  const user = email ? (byEmail.length === 1 ? byEmail[0] : undefined) : await findUserByUsername(deps.db, input.identifier);
  if (!user) return;
  const opened = await deps.db.transaction().execute((trx) => openSelfRecovery(trx, requester, { userId: user.id }, deps.config));
  if (!opened) await recordAudit(deps.db, requester, { action: 'recovery.open', outcome: 'denied', subjectUserId: user.id, details: { mode: 'self' } });
}
