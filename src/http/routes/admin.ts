import { createRoute } from '@hono/zod-openapi';
import { adminFactorView, adminUserView } from '../../admin/profile.ts';
import { FACTOR_STATES } from '../../admin/users.ts';
import {
  addGroupMembersAsAdmin,
  createGroupAsAdmin,
  deleteGroupAsAdmin,
  listGroupsAsAdmin,
  removeGroupMemberAsAdmin,
  renameGroupAsAdmin,
  setGroupPolicyAsAdmin,
  viewGroup,
} from '../../auth/admin/groups.ts';
import {
  clearUserPasskeyFlag,
  disableUserAsAdmin,
  enableUserAsAdmin,
  endSessionAsAdmin,
  findUsers,
  grantUserExemption,
  liftUserExemption,
  revokeUserFactor,
  setUserAdminRole,
  viewUser,
} from '../../auth/admin/users.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { presentGroup, GROUP_NAME_MAX } from '../../groups/groups.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { wellFormedText } from '../schemas.ts';

/**
 * The admin API (flows in src/auth/admin/): every route needs a session, and every flow asks the
 * policy engine (admin.read / admin.write: an administrator with a fresh passkey proof) first.
 */

const tags = ['Administration'];
const UserIdParams = z.object({ id: z.uuid() });
const UserFactorParams = z.object({ id: z.uuid(), factorId: z.uuid() });
const GroupIdParams = z.object({ id: z.uuid() });
const GroupMemberParams = z.object({ id: z.uuid(), userId: z.uuid() });
const IsoDate = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const GroupName = wellFormedText().trim().min(1).max(GROUP_NAME_MAX);

const AdminUserSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    status: z.enum(['active', 'disabled']),
    isAdmin: z.boolean(),
  })
  .passthrough()
  .openapi('AdminUser');
const AdminFactorSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['passkey', 'totp', 'backup_codes', 'password']),
    label: z.string().nullable(),
    authenticatorName: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    flagged: z.boolean(),
  })
  .passthrough()
  .openapi('AdminFactor');
const UserProfileSchema = z
  .object({
    user: AdminUserSchema,
    groups: z.array(z.object({ id: z.string(), name: z.string(), isDefault: z.boolean() })),
    exemption: z.object({ reason: z.string(), expiresAt: z.string().nullable() }).passthrough().nullable(),
    factors: z.array(AdminFactorSchema),
    sessions: z.array(z.record(z.string(), z.unknown())),
    audit: z.object({ events: z.array(z.record(z.string(), z.unknown())), nextBefore: z.string().nullable() }),
  })
  .openapi('AdminUserProfile');
const GroupSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    isDefault: z.boolean(),
    members: z.number(),
    policy: z.object({
      mode: z.enum(['optional', 'encouraged', 'required']),
      deadline: z.string().nullable(),
      inviteAgainAfterDays: z.number(),
      retireTotpAfterPasskeySignIns: z.number().nullable(),
    }),
  })
  .passthrough()
  .openapi('Group');

type Summary = ReturnType<typeof presentGroup>;
function groupJson(summary: Summary) {
  return { ...summary, policy: { ...summary.policy, deadline: summary.policy.deadline?.toISOString() ?? null } };
}

export function adminRoutes(deps: AppDeps, authenticatorNames: AuthenticatorNames) {
  const router = createRouter();
  router.use('/api/admin/*', requireSession());

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/users',
      tags,
      summary: 'Search users by username prefix, group and factor state (admin.read), a page at a time by username',
      request: {
        query: z.object({
          prefix: wellFormedText().max(64).optional(),
          group: z.uuid().optional(),
          factorState: z.enum(FACTOR_STATES).optional(),
          status: z.enum(['active', 'disabled']).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          after: wellFormedText().max(256).optional(),
        }),
      },
      responses: { 200: jsonContent(z.object({ users: z.array(AdminUserSchema), nextAfter: z.string().nullable() }), 'Users'), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const page = await findUsers(deps, requesterOf(c), {
        prefix: query.prefix ?? null,
        groupId: query.group ?? null,
        factorState: query.factorState ?? null,
        status: query.status ?? null,
        limit: query.limit,
        after: query.after ?? null,
      });
      return c.json(page, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/users/{id}',
      tags,
      summary: "A user's profile, groups, exemption, factors (never a secret), live sessions and audit trail (admin.read)",
      request: { params: UserIdParams, query: z.object({ auditBefore: z.string().regex(/^\d{1,18}$/, 'must be an event id').optional() }) },
      responses: { 200: jsonContent(UserProfileSchema, 'Profile'), 404: jsonContent(z.any(), 'No such user'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { auditBefore } = c.req.valid('query');
      return c.json(await viewUser(deps, requesterOf(c), { userId: id, auditBefore: auditBefore ?? null, names: authenticatorNames }), 200);
    },
  );

  const userAction = (path: string, summary: string, run: (requester: ReturnType<typeof requesterOf>, userId: string) => Promise<Record<string, unknown>>) =>
    router.openapi(
      createRoute({
        method: 'post',
        path,
        tags,
        summary,
        request: { params: UserIdParams },
        responses: { 200: jsonContent(z.object({ user: AdminUserSchema }).passthrough(), 'Done'), 404: jsonContent(z.any(), 'No such user'), 409: jsonContent(z.any(), 'Refused'), ...errorResponses },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        return c.json((await run(requesterOf(c), id)) as { user: z.infer<typeof AdminUserSchema> }, 200);
      },
    );

  userAction('/api/admin/users/{id}/disable', 'Disable a user: every session ends at once, no sign-in works (admin.write)', async (requester, userId) => {
    const { user, endedSessions } = await disableUserAsAdmin(deps, requester, { userId });
    return { user: adminUserView(user), endedSessions };
  });
  userAction('/api/admin/users/{id}/enable', 'Enable a disabled user (admin.write)', async (requester, userId) => ({
    user: adminUserView(await enableUserAsAdmin(deps, requester, { userId })),
  }));
  userAction('/api/admin/users/{id}/promote', 'Make a user an administrator (admin.write)', async (requester, userId) => ({
    user: adminUserView((await setUserAdminRole(deps, requester, { userId, isAdmin: true })).user),
  }));
  userAction('/api/admin/users/{id}/demote', 'Take the administrator role away; never from the last one (admin.write)', async (requester, userId) => ({
    user: adminUserView((await setUserAdminRole(deps, requester, { userId, isAdmin: false })).user),
  }));

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/sessions/{id}',
      tags,
      summary: 'End one session of any user (admin.write)',
      request: { params: z.object({ id: z.uuid() }) },
      responses: { 204: { description: 'Ended' }, 404: jsonContent(z.any(), 'No such live session'), ...errorResponses },
    }),
    async (c) => {
      await endSessionAsAdmin(deps, requesterOf(c), { sessionId: c.req.valid('param').id });
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/users/{id}/factors/{factorId}',
      tags,
      summary: "Revoke a user's factor through the one revocation path: the sessions it made end, the user is told (admin.write)",
      request: { params: UserFactorParams },
      responses: { 200: jsonContent(z.object({ revoked: z.string(), endedSessions: z.number() }), 'Revoked'), 404: jsonContent(z.any(), 'No such factor'), ...errorResponses },
    }),
    async (c) => {
      const { id, factorId } = c.req.valid('param');
      const { factor, endedSessions } = await revokeUserFactor(deps, requesterOf(c), { userId: id, factorId });
      return c.json({ revoked: factor.id, endedSessions }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/users/{id}/factors/{factorId}/clear-flag',
      tags,
      summary: "Clear the possible-clone flag of a user's passkey, so it signs in again (admin.write)",
      request: { params: UserFactorParams },
      responses: { 200: jsonContent(z.object({ factor: AdminFactorSchema }), 'Cleared'), 404: jsonContent(z.any(), 'No such passkey'), ...errorResponses },
    }),
    async (c) => {
      const { id, factorId } = c.req.valid('param');
      const factor = await clearUserPasskeyFlag(deps, requesterOf(c), { userId: id, factorId });
      return c.json({ factor: adminFactorView(factor, authenticatorNames) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/api/admin/users/{id}/exemption',
      tags,
      summary: 'Exempt a user from the passkey requirement, with a reason and an optional end (admin.write)',
      request: { params: UserIdParams, ...jsonBody(z.object({ reason: wellFormedText().trim().min(1).max(500), expiresAt: IsoDate.nullable().optional() })) },
      responses: { 200: jsonContent(z.object({ exemption: z.record(z.string(), z.unknown()) }), 'Granted'), 404: jsonContent(z.any(), 'No such user'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { reason, expiresAt } = c.req.valid('json');
      return c.json({ exemption: await grantUserExemption(deps, requesterOf(c), { userId: id, reason, expiresAt: expiresAt ?? null }) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/users/{id}/exemption',
      tags,
      summary: "Lift a user's exemption from the passkey requirement (admin.write)",
      request: { params: UserIdParams },
      responses: { 200: jsonContent(z.object({ lifted: z.boolean() }), 'Lifted (or there was none)'), 404: jsonContent(z.any(), 'No such user'), ...errorResponses },
    }),
    async (c) => c.json(await liftUserExemption(deps, requesterOf(c), { userId: c.req.valid('param').id }), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/groups',
      tags,
      summary: 'Every group with its rollout policy and member count; the default group holds everyone (admin.read)',
      responses: { 200: jsonContent(z.object({ groups: z.array(GroupSchema) }), 'Groups'), ...errorResponses },
    }),
    async (c) => c.json({ groups: (await listGroupsAsAdmin(deps, requesterOf(c))).map(groupJson) }, 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/groups',
      tags,
      summary: 'Create a group (admin.write)',
      request: jsonBody(z.object({ name: GroupName })),
      responses: { 201: jsonContent(z.object({ group: GroupSchema }), 'Created'), 409: jsonContent(z.any(), 'Name taken'), ...errorResponses },
    }),
    async (c) => {
      const group = await createGroupAsAdmin(deps, requesterOf(c), c.req.valid('json'));
      return c.json({ group: groupJson(presentGroup(group, 0)) }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/groups/{id}',
      tags,
      summary: 'A group and its members, a page at a time by username (admin.read)',
      request: { params: GroupIdParams, query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), after: wellFormedText().max(256).optional() }) },
      responses: {
        200: jsonContent(z.object({ group: GroupSchema, members: z.array(z.record(z.string(), z.unknown())), nextAfter: z.string().nullable() }), 'Group'),
        404: jsonContent(z.any(), 'No such group'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit, after } = c.req.valid('query');
      const view = await viewGroup(deps, requesterOf(c), { groupId: id, limit, after: after ?? null });
      return c.json({ ...view, group: groupJson(view.group) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/api/admin/groups/{id}',
      tags,
      summary: 'Rename a group (admin.write)',
      request: { params: GroupIdParams, ...jsonBody(z.object({ name: GroupName })) },
      responses: { 200: jsonContent(z.object({ group: GroupSchema }), 'Renamed'), 404: jsonContent(z.any(), 'No such group'), 409: jsonContent(z.any(), 'Refused'), ...errorResponses },
    }),
    async (c) => {
      const group = await renameGroupAsAdmin(deps, requesterOf(c), { groupId: c.req.valid('param').id, name: c.req.valid('json').name });
      return c.json({ group: groupJson(presentGroup(group, 0)) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/api/admin/groups/{id}/policy',
      tags,
      summary: "Set a group's passkey rollout policy; fields left out keep their value (admin.write)",
      request: {
        params: GroupIdParams,
        ...jsonBody(
          z.object({
            mode: z.enum(['optional', 'encouraged', 'required']).optional(),
            deadline: IsoDate.nullable().optional(),
            inviteAgainAfterDays: z.number().int().min(1).max(365).optional(),
            retireTotpAfterPasskeySignIns: z.number().int().min(1).max(1000).nullable().optional(),
          }),
        ),
      },
      responses: { 200: jsonContent(z.object({ group: GroupSchema }), 'Set'), 404: jsonContent(z.any(), 'No such group'), ...errorResponses },
    }),
    async (c) => {
      const group = await setGroupPolicyAsAdmin(deps, requesterOf(c), { groupId: c.req.valid('param').id, ...c.req.valid('json') });
      return c.json({ group: groupJson(presentGroup(group, 0)) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/groups/{id}',
      tags,
      summary: 'Delete a group and its memberships; never the default group (admin.write)',
      request: { params: GroupIdParams },
      responses: { 204: { description: 'Deleted' }, 404: jsonContent(z.any(), 'No such group'), 409: jsonContent(z.any(), 'The default group'), ...errorResponses },
    }),
    async (c) => {
      await deleteGroupAsAdmin(deps, requesterOf(c), { groupId: c.req.valid('param').id });
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/groups/{id}/members',
      tags,
      summary: 'Add users to a group; those already in it stay (admin.write)',
      request: { params: GroupIdParams, ...jsonBody(z.object({ userIds: z.array(z.uuid()).min(1).max(500) })) },
      responses: { 200: jsonContent(z.object({ added: z.array(z.string()) }), 'Added'), 404: jsonContent(z.any(), 'No such group or user'), ...errorResponses },
    }),
    async (c) => c.json(await addGroupMembersAsAdmin(deps, requesterOf(c), { groupId: c.req.valid('param').id, userIds: c.req.valid('json').userIds }), 200),
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/groups/{id}/members/{userId}',
      tags,
      summary: 'Remove a user from a group (admin.write)',
      request: { params: GroupMemberParams },
      responses: { 200: jsonContent(z.object({ removed: z.array(z.string()) }), 'Removed (empty: was not a member)'), 404: jsonContent(z.any(), 'No such group'), ...errorResponses },
    }),
    async (c) => {
      const { id, userId } = c.req.valid('param');
      return c.json(await removeGroupMemberAsAdmin(deps, requesterOf(c), { groupId: id, userId }), 200);
    },
  );

  return router;
}
