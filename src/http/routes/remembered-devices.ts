import { createRoute } from '@hono/zod-openapi';
import { currentDeviceId, forgetRememberedBrowsers } from '../../auth/manage/remembered-devices.ts';
import { describeBrowser, listRememberedDevices } from '../../factors/remembered-devices.ts';
import { requesterOf, type AppContext, type AppDeps } from '../context.ts';
import { clearDeviceCookie, readDeviceCookie } from '../device-cookie.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonContent, z } from '../router.ts';

const RememberedDeviceSchema = z
  .object({
    id: z.string(),
    browser: z.string(),
    userAgent: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    expiresAt: z.string(),
    current: z.boolean(),
  })
  .openapi('RememberedDevice');

/** The browsers that skip the code, listed and forgotten one by one or all at once. */
export function rememberedDeviceRoutes(deps: AppDeps) {
  const router = createRouter();
  router.use('/api/remembered-devices', requireSession());
  router.use('/api/remembered-devices/*', requireSession());

  async function forget(c: AppContext, deviceId: string | null) {
    const result = await forgetRememberedBrowsers(deps, requesterOf(c), { deviceId, deviceToken: readDeviceCookie(c) });
    if (result.forgotThisBrowser) clearDeviceCookie(c);
    return c.json({ forgotten: result.forgotten }, 200);
  }

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/remembered-devices',
      tags: ['Remembered devices'],
      summary: 'Browsers that skip the authenticator code on a right password',
      responses: { 200: jsonContent(z.object({ devices: z.array(RememberedDeviceSchema) }), 'Remembered browsers'), ...errorResponses },
    }),
    async (c) => {
      const { user } = authOf(c);
      const current = await currentDeviceId(deps, requesterOf(c), readDeviceCookie(c));
      const devices = await listRememberedDevices(deps.db, user.id, c.get('now'));
      return c.json(
        {
          devices: devices.map((device) => ({
            id: device.id,
            browser: describeBrowser(device.user_agent),
            userAgent: device.user_agent,
            createdAt: device.created_at.toISOString(),
            lastUsedAt: device.last_used_at?.toISOString() ?? null,
            expiresAt: device.expires_at.toISOString(),
            current: device.id === current,
          })),
        },
        200,
      );
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/remembered-devices/{id}',
      tags: ['Remembered devices'],
      summary: 'Forget one remembered browser (the sessions it signed in end, but this one)',
      request: { params: z.object({ id: z.uuid() }) },
      responses: { 200: jsonContent(z.object({ forgotten: z.number() }), 'Forgotten'), 404: jsonContent(z.any(), 'No such device'), ...errorResponses },
    }),
    (c) => forget(c, c.req.valid('param').id),
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/remembered-devices',
      tags: ['Remembered devices'],
      summary: 'Forget every remembered browser',
      responses: { 200: jsonContent(z.object({ forgotten: z.number() }), 'Forgotten'), ...errorResponses },
    }),
    (c) => forget(c, null),
  );

  return router;
}
