import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from './context.ts';
import { errorBody } from './errors.ts';

/**
 * Every route module builds its router here, so a body, query or param that fails its zod schema
 * is answered the same way everywhere: 400 `validation_failed` naming the fields (never their values).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
        return c.json(errorBody('validation_failed', undefined, { issues }), 400);
      }
    },
  });
}

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string() }).passthrough(),
  })
  .openapi('Error');

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const errorResponses = {
  400: jsonContent(ErrorSchema, 'Invalid input'),
  401: jsonContent(ErrorSchema, 'Not signed in, or the proof failed'),
  403: jsonContent(ErrorSchema, 'Refused (cross-site, policy, or step-up required)'),
  429: jsonContent(ErrorSchema, 'Rate limited'),
} as const;

/** A JSON request body; `required` so a missing body is a validation error rather than `{}`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

export { z };
