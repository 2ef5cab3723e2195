import { sql, type Kysely, type Transaction } from 'kysely';
import { byAdmin, type AdminActor } from '../admin/actor.ts';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import type { Database, Group, RolloutMode } from '../db/schema.ts';
import { LatchError } from '../errors.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Groups (a department, a cohort) and their passkey rollout policy. Everyone is in the one default
 * group without a membership row; other groups hold members explicitly. Every change writes its
 * audit row in the caller's transaction.
 */

export const GROUP_NAME_MAX = 64;

/** Group names compare like usernames: NFKC, trimmed, lower-case (the table checks the same). */
export function normalizeGroupName(name: string): string {
  return name.normalize('NFKC').trim().toLowerCase();
}

export function isValidGroupName(name: string): boolean {
  const normalized = normalizeGroupName(name);
  return normalized.length >= 1 && normalized.length <= GROUP_NAME_MAX && !/[\p{Cc}\p{Cf}]/u.test(normalized);
}

export interface GroupPolicy {
  mode: RolloutMode;
  /** When `required` starts to bite; `required` needs one. */
  deadline: Date | null;
  inviteAgainAfterDays: number;
  /** Retire TOTP after this many passkey sign-ins; null: never. */
  retireTotpAfterPasskeySignIns: number | null;
}

export interface GroupSummary {
  id: string;
  name: string;
  isDefault: boolean;
  policy: GroupPolicy;
  members: number;
  createdAt: string;
  updatedAt: string;
}

export function groupPolicy(group: Group): GroupPolicy {
  return {
    mode: group.rollout_mode,
    deadline: group.passkey_deadline,
    inviteAgainAfterDays: group.invite_again_after_days,
    retireTotpAfterPasskeySignIns: group.retire_totp_after_passkey_sign_ins,
  };
}

export async function findGroupByName(db: Executor, name: string): Promise<Group | null> {
  return (await db.selectFrom('groups').selectAll().where('name', '=', normalizeGroupName(name)).executeTakeFirst()) ?? null;
}

export async function findGroupById(db: Executor, id: string): Promise<Group | null> {
  return (await db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
}

/** The group or group_not_found. */
export async function requireGroupByName(db: Executor, name: string): Promise<Group> {
  const group = await findGroupByName(db, name);
  if (!group) throw new LatchError('group_not_found', `No group named "${normalizeGroupName(name)}".`);
  return group;
}

/** Every group with its member count (the default group counts every user), default first, then by name. */
export async function listGroups(db: Executor): Promise<GroupSummary[]> {
  const groups = await db.selectFrom('groups').selectAll().orderBy('is_default', 'desc').orderBy('name', 'asc').execute();
  const counts = await db.selectFrom('group_members').select(['group_id']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('group_id').execute();
  const everyone = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const byGroup = new Map(counts.map((row) => [row.group_id, Number(row.n)]));
  return groups.map((group) => presentGroup(group, group.is_default ? Number(everyone.n) : (byGroup.get(group.id) ?? 0)));
}

export function presentGroup(group: Group, members: number): GroupSummary {
  return {
    id: group.id,
    name: group.name,
    isDefault: group.is_default,
    policy: groupPolicy(group),
    members,
    createdAt: group.created_at.toISOString(),
    updatedAt: group.updated_at.toISOString(),
  };
}

export async function createGroup(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { name: string }): Promise<Group> {
  if (!isValidGroupName(input.name)) throw new LatchError('validation_failed', `A group name is 1–${GROUP_NAME_MAX} printable characters.`);
  const name = normalizeGroupName(input.name);
  const group = await trx
    .insertInto('groups')
    .values({ name, created_at: context.now, updated_at: context.now, passkey_deadline: null, retire_totp_after_passkey_sign_ins: null })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!group) throw new LatchError('group_exists', `A group named "${name}" exists already.`);
  await recordAudit(trx, context, { action: 'group.create', outcome: 'success', ...byAdmin(actor, null, { groupId: group.id, name }) });
  return group;
}

/** Renames a group (not the default one). */
export async function renameGroup(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { groupId: string; name: string }): Promise<Group> {
  if (!isValidGroupName(input.name)) throw new LatchError('validation_failed', `A group name is 1–${GROUP_NAME_MAX} printable characters.`);
  const group = await lockGroup(trx, input.groupId);
  if (group.is_default) throw new LatchError('default_group');
  const name = normalizeGroupName(input.name);
  if (name === group.name) return group;
  if (await findGroupByName(trx, name)) throw new LatchError('group_exists', `A group named "${name}" exists already.`);
  const renamed = await trx.updateTable('groups').set({ name, updated_at: context.now }).where('id', '=', group.id).returningAll().executeTakeFirstOrThrow();
  await recordAudit(trx, context, { action: 'group.rename', outcome: 'success', ...byAdmin(actor, null, { groupId: group.id, from: group.name, name }) });
  return renamed;
}

/**
 * Sets a group's rollout policy. Fields left undefined keep their value; `required` needs a
 * deadline (given now or already set).
 */
export async function setGroupPolicy(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { groupId: string; mode?: RolloutMode; deadline?: Date | null; inviteAgainAfterDays?: number; retireTotpAfterPasskeySignIns?: number | null },
): Promise<Group> {
  const group = await lockGroup(trx, input.groupId);
  const next: GroupPolicy = {
    mode: input.mode ?? group.rollout_mode,
    deadline: input.deadline !== undefined ? input.deadline : group.passkey_deadline,
    inviteAgainAfterDays: input.inviteAgainAfterDays ?? group.invite_again_after_days,
    retireTotpAfterPasskeySignIns: input.retireTotpAfterPasskeySignIns !== undefined ? input.retireTotpAfterPasskeySignIns : group.retire_totp_after_passkey_sign_ins,
  };
  if (next.mode === 'required' && next.deadline === null) throw new LatchError('validation_failed', 'The required mode needs a deadline (from when a passkey is required).');
  if (!Number.isInteger(next.inviteAgainAfterDays) || next.inviteAgainAfterDays < 1 || next.inviteAgainAfterDays > 365) {
    throw new LatchError('validation_failed', 'Invite again after 1 to 365 days.');
  }
  const retire = next.retireTotpAfterPasskeySignIns;
  if (retire !== null && (!Number.isInteger(retire) || retire < 1 || retire > 1000)) {
    throw new LatchError('validation_failed', 'Retire TOTP after 1 to 1000 passkey sign-ins (or never).');
  }
  const updated = await trx
    .updateTable('groups')
    .set({
      rollout_mode: next.mode,
      passkey_deadline: next.deadline,
      invite_again_after_days: next.inviteAgainAfterDays,
      retire_totp_after_passkey_sign_ins: next.retireTotpAfterPasskeySignIns,
      updated_at: context.now,
    })
    .where('id', '=', group.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(trx, context, {
    action: 'group.set_policy',
    outcome: 'success',
    ...byAdmin(actor, null, {
      groupId: group.id,
      name: group.name,
      mode: next.mode,
      deadline: next.deadline?.toISOString() ?? null,
      inviteAgainAfterDays: next.inviteAgainAfterDays,
      retireTotpAfterPasskeySignIns: next.retireTotpAfterPasskeySignIns,
    }),
  });
  return updated;
}

/** Deletes a group (its memberships go with it); the default group stays. */
export async function deleteGroup(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { groupId: string }): Promise<void> {
  const group = await lockGroup(trx, input.groupId);
  if (group.is_default) throw new LatchError('default_group');
  const members = await trx.selectFrom('group_members').select((eb) => eb.fn.countAll<number>().as('n')).where('group_id', '=', group.id).executeTakeFirstOrThrow();
  await trx.deleteFrom('groups').where('id', '=', group.id).execute();
  await recordAudit(trx, context, { action: 'group.delete', outcome: 'success', ...byAdmin(actor, null, { groupId: group.id, name: group.name, members: Number(members.n) }) });
}

/** Adds users to a group; those already in it are left as they are. One audit row per user added (the user is the subject). */
export async function addGroupMembers(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { groupId: string; userIds: readonly string[] },
): Promise<{ added: string[] }> {
  const group = await lockGroup(trx, input.groupId);
  if (group.is_default) throw new LatchError('default_group');
  if (input.userIds.length === 0) return { added: [] };
  const rows = await trx
    .insertInto('group_members')
    .values([...new Set(input.userIds)].map((userId) => ({ group_id: group.id, user_id: userId, added_at: context.now })))
    .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
    .returning('user_id')
    .execute();
  for (const row of rows) {
    await recordAudit(trx, context, { action: 'group.member_add', outcome: 'success', ...byAdmin(actor, row.user_id, { groupId: group.id, name: group.name }) });
  }
  return { added: rows.map((row) => row.user_id) };
}

export async function removeGroupMembers(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { groupId: string; userIds: readonly string[] },
): Promise<{ removed: string[] }> {
  const group = await lockGroup(trx, input.groupId);
  if (group.is_default) throw new LatchError('default_group');
  if (input.userIds.length === 0) return { removed: [] };
  const rows = await trx
    .deleteFrom('group_members')
    .where('group_id', '=', group.id)
    .where('user_id', 'in', [...new Set(input.userIds)])
    .returning('user_id')
    .execute();
  for (const row of rows) {
    await recordAudit(trx, context, { action: 'group.member_remove', outcome: 'success', ...byAdmin(actor, row.user_id, { groupId: group.id, name: group.name }) });
  }
  return { removed: rows.map((row) => row.user_id) };
}

/** The groups a user is in: the default group and their memberships. */
export async function groupsOfUser(db: Executor, userId: string): Promise<Group[]> {
  return db
    .selectFrom('groups')
    .selectAll()
    .where((eb) => eb.or([eb('is_default', '=', true), eb.exists(eb.selectFrom('group_members').select(sql`1`.as('one')).whereRef('group_members.group_id', '=', 'groups.id').where('group_members.user_id', '=', userId))]))
    .orderBy('is_default', 'desc')
    .orderBy('name', 'asc')
    .execute();
}

/** A group's members by username, paged (after: the last username of the previous page). */
export async function listGroupMembers(db: Executor, groupId: string, options: { limit: number; after?: string | null }) {
  let query = db
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['users.id', 'users.username', 'users.display_name', 'group_members.added_at'])
    .where('group_members.group_id', '=', groupId)
    .orderBy('users.username', 'asc')
    .limit(options.limit);
  if (options.after) query = query.where('users.username', '>', options.after);
  return query.execute();
}

async function lockGroup(trx: Transaction<Database>, groupId: string): Promise<Group> {
  const group = await trx.selectFrom('groups').selectAll().where('id', '=', groupId).forUpdate().executeTakeFirst();
  if (!group) throw new LatchError('group_not_found');
  return group;
}
