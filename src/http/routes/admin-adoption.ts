import { createRoute } from '@hono/zod-openapi';
import { exportUsersCsv, viewAdoption } from '../../auth/admin/adoption.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonContent, z } from '../router.ts';

/**
 * The adoption dashboard's API (flows in src/auth/admin/adoption.ts, admin.read): the figures as
 * JSON, and the user list with each user's factor state as CSV.
 */

const tags = ['Administration'];

const CountsSchema = z.object({
  users: z.number(),
  passkeyOnly: z.number(),
  passkeyAndTotp: z.number(),
  totpOnly: z.number(),
  noSecondFactor: z.number(),
  withUnusedBackupCodes: z.number(),
});

const AdoptionSchema = z
  .object({
    generatedAt: z.string(),
    organization: CountsSchema,
    groups: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        isDefault: z.boolean(),
        counts: CountsSchema,
        mode: z.enum(['optional', 'encouraged', 'required']),
        deadline: z.string().nullable(),
        daysLeft: z.number().nullable(),
        totpOnly: z.object({
          total: z.number(),
          users: z.array(z.object({ id: z.string(), username: z.string(), displayName: z.string(), lastSignInAt: z.string().nullable() })),
        }),
      }),
    ),
    signIns: z.object({
      methods: z.array(z.string()),
      days: z.array(z.object({ day: z.string(), total: z.number(), byMethod: z.record(z.string(), z.number()) })),
      totals: z.record(z.string(), z.number()),
    }),
    adoptionOverTime: z.array(z.object({ day: z.string(), usersWithPasskey: z.number() })),
    exemptions: z.object({
      total: z.number(),
      items: z.array(
        z.object({ userId: z.string(), username: z.string(), reason: z.string(), until: z.string().nullable(), grantedBy: z.string().nullable(), createdAt: z.string() }),
      ),
    }),
  })
  .openapi('Adoption');

export function adminAdoptionRoutes(deps: AppDeps) {
  const router = createRouter();
  router.use('/api/admin/*', requireSession());

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/adoption',
      tags,
      summary:
        'Passkey adoption: users by factor state (organization and per group), unused backup codes, sign-ins by method per day (30 days), deadlines and TOTP-only users per group, exemptions, users with a passkey per day (admin.read)',
      request: { query: z.object({ days: z.coerce.number().int().min(7).max(366).default(90) }) },
      responses: { 200: jsonContent(AdoptionSchema, 'The dashboard'), ...errorResponses },
    }),
    async (c) => c.json(await viewAdoption(deps, requesterOf(c), { adoptionDays: c.req.valid('query').days }), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/adoption/users.csv',
      tags,
      summary: 'Every user with groups, factor state, passkey count, authenticator app, unused backup codes and last sign-in, as CSV (admin.read; no secret)',
      responses: { 200: { content: { 'text/csv': { schema: z.string() } }, description: 'CSV (RFC 4180), streamed' }, ...errorResponses },
    }),
    async (c) => {
      const lines = exportUsersCsv(deps, requesterOf(c));
      // The first chunk (the policy's answer and the header) before any byte is sent: a refusal is
      // still a JSON 403, not a truncated file.
      const first = await lines.next();
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (!first.done) controller.enqueue(encoder.encode(first.value));
        },
        async pull(controller) {
          try {
            const next = await lines.next();
            if (next.done) controller.close();
            else controller.enqueue(encoder.encode(next.value));
          } catch (error) {
            controller.error(error);
          }
        },
        async cancel() {
          await lines.return(undefined);
        },
      });
      const day = requesterOf(c).now.toISOString().slice(0, 10);
      return new Response(body, {
        status: 200,
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="latch-users-${day}.csv"`,
          'cache-control': 'no-store',
        },
      }) as never;
    },
  );

  return router;
}
