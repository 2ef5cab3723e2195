import { CLI_ACTOR } from '../admin/actor.ts';
import type { RolloutMode } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { addGroupMembers, createGroup, listGroups, removeGroupMembers, requireGroupByName, setGroupPolicy } from '../groups/groups.ts';
import { normalizeUsername } from '../users/users.ts';
import { cliRequestContext, type CliContext } from './context.ts';

/** `latch groups …`: create, list, set-policy, add, remove. Each change is audited with the CLI as actor. */

export async function createGroupCommand(context: CliContext, name: string): Promise<void> {
  const group = await context.deps.db.transaction().execute((trx) => createGroup(trx, cliRequestContext(context), CLI_ACTOR, { name }));
  context.out(`Created group ${group.name}.`);
}

export async function listGroupsCommand(context: CliContext, options: { json?: boolean } = {}): Promise<void> {
  const groups = await listGroups(context.deps.db);
  if (options.json) {
    context.out(JSON.stringify(groups, null, 2));
    return;
  }
  for (const group of groups) {
    const { mode, deadline, inviteAgainAfterDays, retireTotpAfterPasskeySignIns } = group.policy;
    const parts = [
      `${group.name}${group.isDefault ? ' (default: everyone)' : ''}`,
      `${group.members} member${group.members === 1 ? '' : 's'}`,
      mode + (deadline ? ` from ${deadline.toISOString()}` : ''),
      `invite again after ${inviteAgainAfterDays} d`,
      retireTotpAfterPasskeySignIns === null ? 'TOTP kept' : `TOTP retired after ${retireTotpAfterPasskeySignIns} passkey sign-ins`,
    ];
    context.out(parts.join('  ·  '));
  }
}

export interface SetPolicyOptions {
  mode: string;
  deadline?: string;
  inviteAgainDays?: string;
  retireTotpAfter?: string;
}

export async function setGroupPolicyCommand(context: CliContext, name: string, options: SetPolicyOptions): Promise<void> {
  const mode = parseMode(options.mode);
  const deadline = options.deadline === undefined ? undefined : parseDeadline(options.deadline);
  const inviteAgainAfterDays = options.inviteAgainDays === undefined ? undefined : parseInteger(options.inviteAgainDays, '--invite-again-days', 1, 365);
  const retireTotpAfterPasskeySignIns =
    options.retireTotpAfter === undefined ? undefined : options.retireTotpAfter === 'never' ? null : parseInteger(options.retireTotpAfter, '--retire-totp-after', 1, 1000);
  const { db } = context.deps;
  const group = await requireGroupByName(db, name);
  const updated = await db.transaction().execute((trx) =>
    setGroupPolicy(trx, cliRequestContext(context), CLI_ACTOR, { groupId: group.id, mode, deadline, inviteAgainAfterDays, retireTotpAfterPasskeySignIns }),
  );
  context.out(`Group ${updated.name}: ${updated.rollout_mode}${updated.passkey_deadline ? ` from ${updated.passkey_deadline.toISOString()}` : ''}.`);
}

export async function addGroupMembersCommand(context: CliContext, name: string, usernames: string[]): Promise<void> {
  const { db } = context.deps;
  const group = await requireGroupByName(db, name);
  const users = await resolveUsernames(context, usernames);
  const { added } = await db.transaction().execute((trx) => addGroupMembers(trx, cliRequestContext(context), CLI_ACTOR, { groupId: group.id, userIds: users.map((user) => user.id) }));
  context.out(`Added ${added.length} to ${group.name}${added.length < users.length ? ` (${users.length - added.length} already in it)` : ''}.`);
}

export async function removeGroupMembersCommand(context: CliContext, name: string, usernames: string[]): Promise<void> {
  const { db } = context.deps;
  const group = await requireGroupByName(db, name);
  const users = await resolveUsernames(context, usernames);
  const { removed } = await db.transaction().execute((trx) => removeGroupMembers(trx, cliRequestContext(context), CLI_ACTOR, { groupId: group.id, userIds: users.map((user) => user.id) }));
  context.out(`Removed ${removed.length} from ${group.name}${removed.length < users.length ? ` (${users.length - removed.length} were not in it)` : ''}.`);
}

/** Every name must exist: nothing changes when one does not. */
async function resolveUsernames(context: CliContext, usernames: string[]) {
  const normalized = [...new Set(usernames.map(normalizeUsername))];
  const users = await context.deps.db.selectFrom('users').select(['id', 'username']).where('username', 'in', normalized).execute();
  const missing = normalized.filter((username) => !users.some((user) => user.username === username));
  if (missing.length > 0) throw new LatchError('user_not_found', `No user named ${missing.map((username) => `"${username}"`).join(', ')}; nothing was changed.`);
  return users;
}

const MODES: readonly RolloutMode[] = ['optional', 'encouraged', 'required'];

function parseMode(value: string): RolloutMode {
  if (!(MODES as readonly string[]).includes(value)) throw new LatchError('validation_failed', `--mode must be one of ${MODES.join(', ')}.`);
  return value as RolloutMode;
}

function parseDeadline(value: string): Date | null {
  if (value === 'none') return null;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) throw new LatchError('validation_failed', '--deadline must be an ISO 8601 date or time, e.g. 2027-03-01 or 2027-03-01T09:00:00Z.');
  return date;
}

function parseInteger(value: string, flag: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) throw new LatchError('validation_failed', `${flag} must be a whole number from ${min} to ${max}.`);
  return number;
}
