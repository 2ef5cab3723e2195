import { CLI_ACTOR } from '../admin/actor.ts';
import { requireUserByUsername, setAdminRole } from '../admin/users.ts';
import { LatchError } from '../errors.ts';
import { cliRequestContext, type CliContext } from './context.ts';

/** `latch promote <username>` / `latch demote <username>`: the role, audited; the last administrator is never demoted. */
export async function setRoleCommand(context: CliContext, username: string, isAdmin: boolean): Promise<void> {
  const { db } = context.deps;
  const user = await requireUserByUsername(db, username);
  const result = await db.transaction().execute((trx) => setAdminRole(trx, cliRequestContext(context), CLI_ACTOR, { userId: user.id, isAdmin }));
  if (result.outcome === 'refused_last_admin') throw new LatchError('last_admin', `${user.username} is the last administrator; promote another before demoting them.`);
  const role = isAdmin ? 'an administrator' : 'a member';
  context.out(result.outcome === 'changed' ? `${user.username} is now ${role}.` : `${user.username} is ${role} already.`);
}
