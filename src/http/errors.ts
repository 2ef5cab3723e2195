import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorCodes, LatchError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

export function errorBody(code: ErrorCode, message?: string, details: Record<string, unknown> = {}) {
  return { error: { code, message: message ?? errorCodes[code].message, ...details } };
}

export function errorResponse(c: Context, code: ErrorCode, message?: string, details?: Record<string, unknown>) {
  // For the request's log line and metrics (lockouts, rate-limit refusals by route).
  c.set('errorCode', code);
  if (details && 'lockedForSeconds' in details) c.set('lockStarted', true);
  // A refusal that says when to come back says it in the standard header too (429s, RFC 6585).
  if (typeof details?.retryAfterSeconds === 'number') c.header('Retry-After', String(details.retryAfterSeconds));
  return c.json(errorBody(code, message, details), errorCodes[code].status as ContentfulStatusCode);
}

/** The one mapping from thrown errors to responses. A 500 says nothing but the request id. */
export function createErrorHandler(logger: Logger) {
  return function handleError(error: Error, c: Context) {
    if (error instanceof LatchError) return errorResponse(c, error.code, error.message, error.details);
    if (error instanceof HTTPException) {
      if (error.status === 413) return errorResponse(c, 'payload_too_large');
      if (error.status === 400) return errorResponse(c, 'bad_request', 'The request body is not valid JSON.');
      if (error.status === 401) return errorResponse(c, 'unauthenticated');
      if (error.status === 403) return errorResponse(c, 'forbidden');
      if (error.status === 404) return errorResponse(c, 'not_found');
      if (error.status < 500) return c.json(errorBody('bad_request'), error.status as ContentfulStatusCode);
    }
    const requestId = c.get('requestId') as string | undefined;
    if (isDatabaseUnavailable(error)) {
      const requestLogger = (c.get('logger') as Logger | undefined) ?? logger.child({ requestId });
      requestLogger.warn('database unavailable', { errorName: error.name, errorCode: (error as { code?: unknown }).code ?? null });
      c.header('Retry-After', '2');
      return errorResponse(c, 'database_unavailable');
    }
    // The message may quote input (a database error can): log the type, code and frames only.
    const requestLogger = (c.get('logger') as Logger | undefined) ?? logger.child({ requestId });
    requestLogger.error('unhandled error', {
      errorName: error.name,
      errorCode: (error as { code?: unknown }).code ?? null,
      frames: error.stack?.split('\n').slice(1, 9).map((frame) => frame.trim()),
    });
    return c.json(errorBody('internal_error', undefined, { requestId: requestId ?? null }), 500);
  };
}
