import type { Context } from 'hono';
import type { RequestContext } from '../audit/audit.ts';
import type { Requester } from '../auth/requester.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { DeferredWork } from '../deferred-work.ts';
import type { Session, User } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import type { SessionCookieSettings } from './session-cookie.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Oidc } from '../oidc/provider.ts';

/** Everything the app is a function of. Tests pass a fake clock and a fresh database. */
export interface AppDeps {
  db: Db;
  config: Config;
  keyring: Keyring;
  clock: Clock;
  logger: Logger;
  /** Prometheus metrics; created by createApp when LATCH_METRICS=true unless passed. */
  metrics?: Metrics | null;
  /** The OpenID Connect provider; created by createApp unless passed (instances share one database either way). */
  oidc?: Oidc;
  /** Work started by a request and finished after its answer; created by createApp unless passed (the server waits for it on shutdown). */
  deferred?: DeferredWork;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    /** This request's "now", read once from the clock so every step of it agrees. */
    now: Date;
    clientAddress: string | null;
    auth: { session: Session; user: User } | null;
    sessionCookie: SessionCookieSettings;
    /** The app's logger bound to this request's id. */
    logger: Logger;
    /** The LatchError code this request answered with, if any (set by errorResponse). */
    errorCode?: string;
    /** The answer started a second-factor lock. */
    lockStarted?: boolean;
    /** The answer carries the pages' content security policy (src/http/middleware/security-headers.ts). */
    pageContentSecurityPolicy?: boolean;
  };
}

export type AppContext = Context<AppEnv>;

export function requestContext(c: AppContext): RequestContext {
  return {
    now: c.get('now'),
    clientAddress: c.get('clientAddress'),
    userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null,
    requestId: c.get('requestId'),
  };
}

/** Who is asking, for the auth flows: the request's context and its session, if any. */
export function requesterOf(c: AppContext): Requester {
  return { ...requestContext(c), current: c.get('auth') };
}
