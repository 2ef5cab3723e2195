import { recordAudit } from '../../audit/audit.ts';
import { LatchError } from '../../errors.ts';
import { developmentMailbox, type DevelopmentMail } from '../../notifications/transport.ts';
import { outboxCounts } from '../../notifications/worker.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { signedIn, type AuthDeps, type Requester } from '../requester.ts';

export interface DevelopmentMailView {
  messages: readonly DevelopmentMail[];
  outbox: Awaited<ReturnType<typeof outboxCounts>>;
}

/**
 * The development mailbox (/admin/mail): what this process would have mailed, confirmation codes
 * included, so only where nothing is really mailed — the embedded database and no LATCH_SMTP_URL
 * — and only to an administrator who just stepped up. Anywhere else it does not exist (not_found).
 *
 * The admin check is `admin.read` of the policy table (administrators, a passkey proof within 15 minutes).
 */
export async function readDevelopmentMailbox(deps: AuthDeps, requester: Requester): Promise<DevelopmentMailView> {
  if (deps.config.databaseUrl !== null || deps.config.smtpUrl !== null) throw new LatchError('not_found');
  const current = signedIn(requester);
  await requireAllowed(deps.db, 'admin.read', current, requester.now);
  await recordAudit(deps.db, requester, {
    action: 'admin.development_mail.view',
    outcome: 'success',
    actorUserId: current.user.id,
    sessionId: current.session.id,
    details: { messages: developmentMailbox.list().length },
  });
  return { messages: developmentMailbox.list(), outbox: await outboxCounts(deps.db) };
}
