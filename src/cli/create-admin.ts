import { ADMIN_LINK_TTL_SECONDS, issueEnrollmentLink } from '../admin/enrollment.ts';
import { CLI_ACTOR } from '../admin/actor.ts';
import { enrollmentUrl } from '../enrollment/links.ts';
import { LatchError } from '../errors.ts';
import { NewUsernameSchema, UsernameSchema } from '../http/schemas.ts';
import { findUserByUsername } from '../users/users.ts';
import { cliRequestContext, type CliContext } from './context.ts';

/**
 * `latch create-admin <username>`: creates the user if missing and prints a single-use link, valid
 * 24 hours, on which that person registers a passkey and becomes an administrator. The link is
 * printed here once; only its keyed hash is stored, and the audit row never holds it.
 */
export async function createAdminCommand(context: CliContext, rawUsername: string): Promise<{ url: string; userId: string }> {
  const { deps } = context;
  const existing = await findUserByUsername(deps.db, rawUsername);
  // A new account's name follows the sign-up rules (one script); an existing one is taken as it is.
  const parsed = (existing ? UsernameSchema : NewUsernameSchema).safeParse(rawUsername);
  if (!parsed.success) throw new LatchError('validation_failed', `"${rawUsername}" is not a valid username: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
  const issued = await deps.db
    .transaction()
    .execute((trx) => issueEnrollmentLink(trx, deps.keyring, cliRequestContext(context), CLI_ACTOR, { username: parsed.data, purpose: 'admin', ttlSeconds: ADMIN_LINK_TTL_SECONDS }));
  const url = enrollmentUrl(deps.config.origins[0]!, issued.token);
  context.out(issued.createdUser ? `Created user ${issued.user.username}.` : `User ${issued.user.username} exists.`);
  context.out(`Send this single-use link to them (valid until ${issued.expiresAt.toISOString()}); on it they register a passkey and become an administrator:`);
  context.out('');
  context.out(`  ${url}`);
  context.out('');
  return { url, userId: issued.user.id };
}
