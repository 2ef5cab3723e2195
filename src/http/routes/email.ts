import { createRoute } from '@hono/zod-openapi';
import { confirmEmail, removeEmail, requestEmailChange, showEmail, type EmailState } from '../../auth/manage/email.ts';
import { MAX_EMAIL_LENGTH, normalizeEmail } from '../../email/address.ts';
import { mailerFor } from '../../notifications/transport.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { wellFormedText } from '../schemas.ts';

const EmailStateSchema = z
  .object({
    address: z.string().nullable(),
    confirmed: z.boolean(),
    confirmedAt: z.string().nullable(),
    pending: z.object({ address: z.string(), expiresAt: z.string() }).nullable(),
  })
  .openapi('EmailAddress');

const EmailInputSchema = wellFormedText()
  .max(MAX_EMAIL_LENGTH + 16)
  .refine((value) => normalizeEmail(value) !== null, 'must be an email address such as name@example.com (at most 254 characters)');

const EmailCodeSchema = z
  .string()
  .max(32)
  .transform((code) => code.replace(/\s+/g, ''))
  .pipe(z.string().regex(/^\d{6}$/, 'must be the 6-digit code from the email'));

function present(state: EmailState) {
  return {
    address: state.address,
    confirmed: state.confirmed,
    confirmedAt: state.confirmedAt?.toISOString() ?? null,
    pending: state.pending ? { address: state.pending.address, expiresAt: state.pending.expiresAt.toISOString() } : null,
  };
}

/** The account's email address: shown, set or changed (a code to confirm it), confirmed, removed. */
export function emailRoutes(deps: AppDeps) {
  const router = createRouter();
  router.use('/api/email', requireSession());
  router.use('/api/email/*', requireSession());
  const emailDeps = () => ({ ...deps, mailer: mailerFor(deps.config, deps.logger) });

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/email',
      tags: ['Email'],
      summary: 'The email address notifications go to, and one waiting for its code',
      responses: { 200: jsonContent(EmailStateSchema, 'The address'), ...errorResponses },
    }),
    async (c) => c.json(present(await showEmail(deps, requesterOf(c))), 200),
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/api/email',
      tags: ['Email'],
      summary: 'Set or change the address (needs a fresh step-up): a 6-digit code is mailed to it; it receives nothing else until confirmed',
      request: jsonBody(z.object({ email: EmailInputSchema })),
      responses: { 200: jsonContent(EmailStateSchema, 'Code sent; the address is pending'), ...errorResponses },
    }),
    async (c) => {
      const { email } = c.req.valid('json');
      return c.json(present(await requestEmailChange(emailDeps(), requesterOf(c), { email })), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/email/confirm',
      tags: ['Email'],
      summary: 'Confirm the pending address with the code from the email (5 tries per code)',
      request: jsonBody(z.object({ code: EmailCodeSchema })),
      responses: { 200: jsonContent(EmailStateSchema, 'Confirmed'), ...errorResponses },
    }),
    async (c) => {
      const { code } = c.req.valid('json');
      return c.json(present(await confirmEmail(deps, requesterOf(c), { code })), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/email',
      tags: ['Email'],
      summary: 'Remove the address (needs a fresh step-up); the old confirmed address is told',
      responses: { 200: jsonContent(EmailStateSchema, 'Removed'), ...errorResponses },
    }),
    async (c) => c.json(present(await removeEmail(deps, requesterOf(c))), 200),
  );

  return router;
}
