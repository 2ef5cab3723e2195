import type { Keyring } from '../crypto/keyring.ts';
import type { Transaction } from 'kysely';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import type { Database, EnrollmentLinkPurpose, User } from '../db/schema.ts';
import { createEnrollmentLink, revokeEnrollmentLinks } from '../enrollment/links.ts';
import { createUser, findUserByUsername } from '../users/users.ts';
import { byAdmin, type AdminActor } from './actor.ts';

export const ADMIN_LINK_TTL_SECONDS = 24 * 60 * 60;

/**
 * The user (created when missing) and a fresh single-use enrollment link for them: whoever opens
 * it registers a passkey for that account (and, for `admin`, becomes an administrator). Older
 * unused links of the same purpose end. The token is returned once, to print; the audit row
 * records that a link exists, never the token.
 */
export async function issueEnrollmentLink(
  trx: Transaction<Database>,
  keyring: Keyring,
  context: RequestContext,
  actor: AdminActor,
  input: { username: string; purpose: EnrollmentLinkPurpose; ttlSeconds: number },
): Promise<{ user: User; createdUser: boolean; token: string; expiresAt: Date }> {
  let user = await findUserByUsername(trx, input.username);
  const createdUser = user === null;
  if (!user) {
    user = await createUser(trx, { username: input.username }, context.now);
    // Taken by a concurrent sign-up between the two statements: that account is the one.
    user ??= (await findUserByUsername(trx, input.username))!;
    if (createdUser) await recordAudit(trx, context, { action: 'user.create', outcome: 'success', ...byAdmin(actor, user.id) });
  }
  const replaced = await revokeEnrollmentLinks(trx, user.id, input.purpose, context.now);
  const { token, link } = await createEnrollmentLink(trx, keyring, { userId: user.id, purpose: input.purpose, ttlSeconds: input.ttlSeconds, createdBy: actor.userId, now: context.now });
  await recordAudit(trx, context, {
    action: 'enrollment_link.create',
    outcome: 'success',
    ...byAdmin(actor, user.id, { linkId: link.id, purpose: input.purpose, expiresAt: link.expires_at.toISOString(), replaced }),
  });
  return { user, createdUser, token, expiresAt: link.expires_at };
}
