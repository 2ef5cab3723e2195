import type { RequestContext } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { Session, User } from '../db/schema.ts';
import type { SessionLifetimes } from '../sessions/sessions.ts';
import { LatchError, type ErrorCode } from '../errors.ts';

/** What every flow needs: the database, the keys, the configuration. The HTTP app's deps are one. */
export interface AuthDeps {
  db: Db;
  keyring: Keyring;
  config: Config;
}

/** The live session and its user, as the session loader found them. */
export interface SignedIn {
  session: Session;
  user: User;
}

/**
 * Who is asking: when, from where, with which agent, and in which session (if any). Every entry
 * point (the web API, later the CLI, the admin API, OpenID Connect) builds one of these.
 */
export interface Requester extends RequestContext {
  current: SignedIn | null;
}

/** A flow that needs a session gets one; without, the caller is not signed in. */
export function signedIn(requester: Requester): SignedIn {
  if (!requester.current) throw new LatchError('unauthenticated');
  return requester.current;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An id a caller names (a factor, a session, a remembered browser): a string that is not a uuid
 * names nothing, so it answers `notFound` rather than reaching the database (which would refuse
 * it with a type error, a 500). Routes validate ids too; the CLI and admin entry points may not.
 */
export function assertIdShape(id: string, notFound: ErrorCode): void {
  if (!UUID.test(id)) throw new LatchError(notFound);
}

/** The audit fields of something the signed-in user did to their own account, from this session. */
export function byOwner(current: SignedIn): { actorUserId: string; subjectUserId: string; sessionId: string } {
  return { actorUserId: current.user.id, subjectUserId: current.user.id, sessionId: current.session.id };
}

/** A session a flow established (or rotated): the bearer token is shown once, to set as the cookie. */
export interface EstablishedSession {
  session: Session;
  token: string;
}

export function sessionLifetimes(config: Pick<Config, 'sessionIdleSeconds' | 'sessionAbsoluteSeconds'>): SessionLifetimes {
  return { idleSeconds: config.sessionIdleSeconds, absoluteSeconds: config.sessionAbsoluteSeconds };
}
