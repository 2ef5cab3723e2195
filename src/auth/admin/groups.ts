import { requireUser } from '../../admin/users.ts';
import type { Group, RolloutMode } from '../../db/schema.ts';
import {
  addGroupMembers,
  createGroup,
  deleteGroup,
  findGroupById,
  listGroupMembers,
  listGroups,
  presentGroup,
  removeGroupMembers,
  renameGroup,
  setGroupPolicy,
  type GroupSummary,
} from '../../groups/groups.ts';
import { LatchError } from '../../errors.ts';
import { assertIdShape, type AuthDeps, type Requester } from '../requester.ts';
import { asAdmin } from './admin-requester.ts';

/** Groups and their rollout policy, as admin flows over src/groups/ (which audits each change). */

export async function listGroupsAsAdmin(deps: AuthDeps, requester: Requester): Promise<GroupSummary[]> {
  return asAdmin(deps, requester, 'admin.read', (trx) => listGroups(trx));
}

export async function viewGroup(deps: AuthDeps, requester: Requester, input: { groupId: string; limit: number; after?: string | null }) {
  assertIdShape(input.groupId, 'group_not_found');
  return asAdmin(deps, requester, 'admin.read', async (trx) => {
    const group = await findGroupById(trx, input.groupId);
    if (!group) throw new LatchError('group_not_found');
    const summaries = await listGroups(trx);
    const members = group.is_default ? [] : await listGroupMembers(trx, group.id, { limit: input.limit + 1, after: input.after ?? null });
    const page = members.slice(0, input.limit);
    return {
      group: summaries.find((summary) => summary.id === group.id) ?? presentGroup(group, 0),
      members: page.map((member) => ({ id: member.id, username: member.username, displayName: member.display_name, addedAt: member.added_at.toISOString() })),
      nextAfter: members.length > input.limit ? page.at(-1)!.username : null,
    };
  });
}

export async function createGroupAsAdmin(deps: AuthDeps, requester: Requester, input: { name: string }): Promise<Group> {
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => createGroup(trx, requester, actor, input));
}

export async function renameGroupAsAdmin(deps: AuthDeps, requester: Requester, input: { groupId: string; name: string }): Promise<Group> {
  assertIdShape(input.groupId, 'group_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => renameGroup(trx, requester, actor, input));
}

export async function setGroupPolicyAsAdmin(
  deps: AuthDeps,
  requester: Requester,
  input: { groupId: string; mode?: RolloutMode; deadline?: Date | null; inviteAgainAfterDays?: number; retireTotpAfterPasskeySignIns?: number | null },
): Promise<Group> {
  assertIdShape(input.groupId, 'group_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => setGroupPolicy(trx, requester, actor, input));
}

export async function deleteGroupAsAdmin(deps: AuthDeps, requester: Requester, input: { groupId: string }): Promise<void> {
  assertIdShape(input.groupId, 'group_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => deleteGroup(trx, requester, actor, input));
}

export async function addGroupMembersAsAdmin(deps: AuthDeps, requester: Requester, input: { groupId: string; userIds: string[] }): Promise<{ added: string[] }> {
  assertIdShape(input.groupId, 'group_not_found');
  for (const userId of input.userIds) assertIdShape(userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.write', async (trx, actor) => {
    for (const userId of new Set(input.userIds)) await requireUser(trx, userId);
    return addGroupMembers(trx, requester, actor, input);
  });
}

export async function removeGroupMemberAsAdmin(deps: AuthDeps, requester: Requester, input: { groupId: string; userId: string }): Promise<{ removed: string[] }> {
  assertIdShape(input.groupId, 'group_not_found');
  assertIdShape(input.userId, 'user_not_found');
  return asAdmin(deps, requester, 'admin.write', (trx, actor) => removeGroupMembers(trx, requester, actor, { groupId: input.groupId, userIds: [input.userId] }));
}
