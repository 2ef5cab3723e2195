import { recordAudit } from '../../audit/audit.ts';
import { normalizeEmail, sameAddress } from '../../email/address.ts';
import {
  cancelEmailConfirmation,
  checkEmailCode,
  consumeEmailConfirmation,
  EMAIL_CODE_TTL_SECONDS,
  pendingConfirmation,
  startEmailConfirmation,
} from '../../email/confirmation.ts';
import { LatchError } from '../../errors.ts';
import { maskAddress, renderEmailConfirmation } from '../../notifications/messages.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import { MailError, type Mailer } from '../../notifications/transport.ts';
import { messageSettings } from '../../notifications/worker.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { claimAttempt, type AttemptRule } from '../../rate-limits/attempts.ts';
import { byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

/**
 * A user's one email address: where security notifications go. Never a way to sign in.
 *
 * Setting or changing it is a sensitive action (fresh step-up); the new address is confirmed with
 * a 6-digit code mailed to it at once — the code is never stored (only its keyed hash, in an
 * `email_confirm` ceremony), never queued in the outbox and never logged. Until the code comes
 * back, the new address is only pending: `users.email` keeps the confirmed one (still receiving
 * notifications), and the pending one receives nothing but its code. Confirming replaces the
 * address and tells both the old and the new one; removing it tells the old one.
 */
export interface EmailDeps extends AuthDeps {
  mailer: Mailer;
}

export interface EmailState {
  /** The address notifications go to, or an imported one not yet confirmed. */
  address: string | null;
  confirmed: boolean;
  confirmedAt: Date | null;
  /** An address waiting for its code. */
  pending: { address: string; expiresAt: Date } | null;
}

/** Codes one account may have mailed per hour, and codes one address may receive per hour (from any account). */
export const emailSendPerUser: AttemptRule = { kind: 'cap', limit: 5, windowSeconds: 60 * 60, lockoutSeconds: 60 * 60 };
export const emailSendPerAddress: AttemptRule = { kind: 'cap', limit: 5, windowSeconds: 60 * 60, lockoutSeconds: 60 * 60 };
/** Codes one account may try per hour, over all its confirmations (each allows 5). */
export const emailConfirmPerUser: AttemptRule = { kind: 'cap', limit: 10, windowSeconds: 60 * 60, lockoutSeconds: 60 * 60 };

export async function showEmail(deps: AuthDeps, requester: Requester): Promise<EmailState> {
  const { user } = signedIn(requester);
  const row = await deps.db.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
  const pending = await pendingConfirmation(deps.db, user.id, requester.now);
  return {
    address: row.email,
    confirmed: row.email !== null && row.email_verified_at !== null,
    confirmedAt: row.email_verified_at,
    pending: pending ? { address: pending.email, expiresAt: pending.expiresAt } : null,
  };
}

/** PUT /api/email: step-up, then a code to the new address. Returns the state with the pending address. */
export async function requestEmailChange(deps: EmailDeps, requester: Requester, input: { email: string }): Promise<EmailState> {
  const current = signedIn(requester);
  const { user } = current;
  const email = normalizeEmail(input.email);
  if (!email) throw new LatchError('email_invalid');

  // The policy first: without a fresh step-up nothing is counted, stored or sent.
  await requireAllowed(deps.db, 'email.change', current, requester.now);
  const stored = await deps.db.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
  if (stored.email_verified_at !== null && sameAddress(stored.email, email)) {
    // Already this account's confirmed address: nothing to confirm, nothing to send.
    await cancelEmailConfirmation(deps.db, user.id, requester.now);
    return showEmail(deps, requester);
  }

  for (const [key, rule] of [
    [`email-send:user:${user.id}`, emailSendPerUser],
    [`email-send:to:${email.toLowerCase()}`, emailSendPerAddress],
  ] as const) {
    const claim = await claimAttempt(deps.db, key, rule, requester.now);
    if (!claim.allowed) throw new LatchError('rate_limited', undefined, { retryAfterSeconds: claim.retryAfterSeconds });
  }

  const { code } = await deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'email.change', current, requester.now);
    const started = await startEmailConfirmation(trx, deps.keyring, user.id, email, requester.now);
    await recordAudit(trx, requester, { action: 'email.confirmation_sent', outcome: 'success', ...byOwner(current), details: { address: email } });
    return started;
  });

  // Sent now, not through the outbox: the code must never sit in a row in the clear. If the mail
  // fails, the user asks again (a new code replaces this one).
  const message = renderEmailConfirmation(
    { code, expiresInMinutes: EMAIL_CODE_TTL_SECONDS / 60, when: requester.now, clientAddress: requester.clientAddress, userAgent: requester.userAgent },
    messageSettings(deps.config),
  );
  try {
    await deps.mailer.send({ ...message, to: email, kind: 'email_confirm' });
  } catch (error) {
    await cancelEmailConfirmation(deps.db, user.id, requester.now);
    throw new LatchError('email_delivery_failed', undefined, error instanceof MailError ? { reason: error.reason } : {});
  }
  return showEmail(deps, requester);
}

/** POST /api/email/confirm: the code from the mail makes the pending address the account's. */
export async function confirmEmail(deps: AuthDeps, requester: Requester, input: { code: string }): Promise<EmailState> {
  const current = signedIn(requester);
  const { user } = current;
  const claim = await claimAttempt(deps.db, `email-confirm:user:${user.id}`, emailConfirmPerUser, requester.now);
  if (!claim.allowed) throw new LatchError('rate_limited', undefined, { retryAfterSeconds: claim.retryAfterSeconds });

  const code = input.code.trim();
  const check = await checkEmailCode(deps.db, deps.keyring, user.id, code, requester.now);
  if (check.outcome === 'none') throw new LatchError('email_confirmation_invalid');
  if (check.outcome === 'wrong') {
    await recordAudit(deps.db, requester, { action: 'email.confirm', outcome: 'failure', ...byOwner(current), details: { reason: 'code_invalid', attemptsLeft: check.attemptsLeft } });
    if (check.attemptsLeft === 0) throw new LatchError('email_confirmation_invalid', 'That code did not work, and this one has no attempts left. Ask for a new code.');
    throw new LatchError('code_invalid', undefined, { attemptsLeft: check.attemptsLeft });
  }

  await deps.db.transaction().execute(async (trx) => {
    if (!(await consumeEmailConfirmation(trx, check.ceremony, requester.now))) throw new LatchError('email_confirmation_invalid');
    const before = await trx.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
    await trx.updateTable('users').set({ email: check.email, email_verified_at: requester.now, updated_at: requester.now }).where('id', '=', user.id).execute();
    const previous = before.email_verified_at !== null && before.email !== null && !sameAddress(before.email, check.email) ? before.email : null;
    await recordAudit(trx, requester, {
      action: 'email.confirm',
      outcome: 'success',
      ...byOwner(current),
      details: { address: check.email, previousAddress: previous },
    });
    const from = { clientAddress: requester.clientAddress, userAgent: requester.userAgent };
    // The new address learns it is confirmed; the old one, that the warnings now go elsewhere.
    await queueNotification(trx, { userId: user.id, kind: 'email_changed', payload: { change: 'confirmed' }, now: requester.now, from });
    if (previous) {
      await queueNotification(trx, {
        userId: user.id,
        kind: 'email_changed',
        payload: { change: 'changed', toPreviousAddress: true, newAddressMasked: maskAddress(check.email) },
        now: requester.now,
        from,
        recipient: previous,
      });
    }
  });
  return showEmail(deps, requester);
}

/** DELETE /api/email: no address any more (and no pending one); the old confirmed address is told. */
export async function removeEmail(deps: AuthDeps, requester: Requester): Promise<EmailState> {
  const current = signedIn(requester);
  const { user } = current;
  await deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'email.change', current, requester.now);
    const before = await trx.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
    const cancelled = await cancelEmailConfirmation(trx, user.id, requester.now);
    if (before.email === null && cancelled === 0) throw new LatchError('email_not_found');
    await trx.updateTable('users').set({ email: null, email_verified_at: null, updated_at: requester.now }).where('id', '=', user.id).execute();
    await recordAudit(trx, requester, {
      action: 'email.remove',
      outcome: 'success',
      ...byOwner(current),
      details: { address: before.email, wasConfirmed: before.email_verified_at !== null, cancelledPending: cancelled > 0 },
    });
    if (before.email !== null && before.email_verified_at !== null) {
      await queueNotification(trx, {
        userId: user.id,
        kind: 'email_changed',
        payload: { change: 'removed' },
        now: requester.now,
        from: { clientAddress: requester.clientAddress, userAgent: requester.userAgent },
        recipient: before.email,
      });
    }
  });
  return showEmail(deps, requester);
}
