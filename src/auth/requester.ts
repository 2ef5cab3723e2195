import type { RequestContext } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { Session, User } from '../db/schema.ts';
import type { SessionLifetimes } from '../sessions/sessions.ts';

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
  if (!requester.current) throw new Error('this flow needs a signed-in requester');
  return requester.current;
}

/** A session a flow established (or rotated): the bearer token is shown once, to set as the cookie. */
export interface EstablishedSession {
  session: Session;
  token: string;
}

export function sessionLifetimes(config: Pick<Config, 'sessionIdleSeconds' | 'sessionAbsoluteSeconds'>): SessionLifetimes {
  return { idleSeconds: config.sessionIdleSeconds, absoluteSeconds: config.sessionAbsoluteSeconds };
}
