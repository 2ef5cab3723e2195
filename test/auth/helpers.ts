import { expect } from 'vitest';
import { finishAddingPasskey, startAddingPasskey } from '../../src/auth/enroll/passkey.ts';
import { finishAddingTotp, startAddingTotp } from '../../src/auth/enroll/totp.ts';
import { signInWithPasskey, startSignInWithPasskey } from '../../src/auth/sign-in/passkey.ts';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import { signUpWithPasskey, startSignUpWithPasskey } from '../../src/auth/sign-up/passkey.ts';
import { finishTotpSignUp, startTotpSignUp } from '../../src/auth/sign-up/totp.ts';
import { sessionLifetimes, type AuthDeps, type EstablishedSession, type Requester } from '../../src/auth/requester.ts';
import type { User } from '../../src/db/schema.ts';
import { lookUpSession, type ActiveSession } from '../../src/sessions/sessions.ts';
import { relyingPartyFrom, type RelyingParty } from '../../src/webauthn/relying-party.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { codeFromUri } from '../helpers/authenticator.ts';
export { notTheCode } from '../helpers/fallback.ts';
import { SoftAuthenticator, type SoftAuthenticatorSettings } from '../helpers/soft-authenticator.ts';

/**
 * The auth flows called as plain functions, without HTTP: a database, keys and configuration
 * (`deps`), the relying party, and requesters built by hand as any entry point would.
 */
export interface Flows {
  t: TestApp;
  deps: AuthDeps;
  rp: RelyingParty;
}

export const ADDRESS = '192.0.2.1';
export const USER_AGENT = 'flow-test';
export const PASSWORD = 'correct horse battery';

/** One database per test file (closed after it), as createTestApp does. */
export async function createFlows(): Promise<Flows> {
  const t = await createTestApp();
  return { t, deps: { db: t.db, keyring: t.keyring, config: t.config }, rp: relyingPartyFrom(t.config) };
}

/** Nobody signed in, now (by the test clock). */
export function anonymous(f: Flows, clientAddress = ADDRESS): Requester {
  return { now: f.t.clock.now(), clientAddress, userAgent: USER_AGENT, requestId: null, current: null };
}

/** The live session of a token, as the session loader would find it now; null when it finds none. */
export function findSession(f: Flows, token: string): Promise<ActiveSession | null> {
  return lookUpSession(f.t.db, f.t.keyring, token, sessionLifetimes(f.t.config), f.t.clock.now());
}

/** A requester signed in with the session an earlier flow established (the token its cookie would carry). */
export async function signedInAs(f: Flows, established: EstablishedSession | string, clientAddress = ADDRESS): Promise<Requester> {
  const token = typeof established === 'string' ? established : established.token;
  const current = await findSession(f, token);
  if (!current) throw new Error('signedInAs: the token finds no live session');
  return { now: f.t.clock.now(), clientAddress, userAgent: USER_AGENT, requestId: null, current };
}

let counter = 0;
export function uniqueUsername(prefix = 'flow'): string {
  return `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface TotpUser {
  username: string;
  password: string;
  user: User;
  established: EstablishedSession;
  otpauthUri: string;
  backupCodes: string[];
  /** What the user's authenticator app shows now (by the test clock). */
  code(stepOffset?: number): string;
}

/**
 * Signs up with password + authenticator app through the flows (startTotpSignUp → a code from an
 * independent authenticator → finishTotpSignUp). Moves the clock to the next time step after, so
 * the sign-up code is spent.
 */
export async function signUpTotpUser(f: Flows, options: { username?: string; password?: string } = {}): Promise<TotpUser> {
  const username = options.username ?? uniqueUsername('totp');
  const password = options.password ?? PASSWORD;
  const enrollment = await startTotpSignUp(f.deps, anonymous(f), { username, password, displayName: null });
  const done = await finishTotpSignUp(f.deps, anonymous(f), { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) });
  f.t.clock.advance(30);
  return {
    username,
    password,
    user: done.user,
    established: done.established,
    otpauthUri: enrollment.otpauthUri,
    backupCodes: done.backupCodes,
    code: (stepOffset = 0) => codeFromUri(enrollment.otpauthUri, f.t.clock.now(), stepOffset),
  };
}

/** The password step for a user who has a second factor: always a ticket. */
export async function ticketFor(f: Flows, user: Pick<TotpUser, 'username' | 'password'>, clientAddress = ADDRESS, password = user.password): Promise<string> {
  const step = await submitPassword(f.deps, anonymous(f, clientAddress), { username: user.username, password, deviceToken: null });
  if (step.kind !== 'ticket') throw new Error('expected a ticket');
  return step.ticket;
}

/** Password + app code in a fresh time step (the clock moves on 30 s first, so the code is unspent). */
export async function signInTotp(f: Flows, user: TotpUser, options: { clientAddress?: string; rememberDevice?: boolean; requester?: Requester } = {}) {
  f.t.clock.advance(30);
  const clientAddress = options.clientAddress ?? ADDRESS;
  const ticket = await ticketFor(f, user, clientAddress);
  const requester = options.requester ? { ...options.requester, now: f.t.clock.now() } : anonymous(f, clientAddress);
  return signInWithTotpCode(f.deps, requester, { ticket, code: user.code(), rememberDevice: options.rememberDevice ?? false });
}

export interface PasskeyUser {
  username: string;
  user: User;
  established: EstablishedSession;
  authenticator: SoftAuthenticator;
}

/** Signs up with a passkey through the flows, driven by a SoftAuthenticator. */
export async function signUpPasskeyUser(f: Flows, settings: SoftAuthenticatorSettings = {}, options: { username?: string } = {}): Promise<PasskeyUser> {
  const authenticator = new SoftAuthenticator(settings);
  const username = options.username ?? uniqueUsername('passkey');
  const started = await startSignUpWithPasskey(f.deps, f.rp, anonymous(f), { username, displayName: null });
  const done = await signUpWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: authenticator.register(started.options), label: null });
  return { username, user: done.user, established: done.established, authenticator };
}

/** Signs a passkey user in again (a new session, from a browser with none) through the passkey flows. */
export async function passkeySignIn(f: Flows, user: PasskeyUser, authenticator = user.authenticator) {
  const started = await startSignInWithPasskey(f.deps, f.rp, anonymous(f), { username: null });
  return signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: authenticator.assert(started.options) });
}

/** Adds an authenticator app in the requester's session (startAddingTotp → code → finishAddingTotp); the clock then moves to the next step. */
export async function addTotp(f: Flows, requester: Requester, label: string | null = null) {
  const enrollment = await startAddingTotp(f.deps, requester);
  const added = await finishAddingTotp(f.deps, requester, { ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, requester.now), label });
  f.t.clock.advance(30);
  return { ...added, otpauthUri: enrollment.otpauthUri, code: (stepOffset = 0) => codeFromUri(enrollment.otpauthUri, f.t.clock.now(), stepOffset) };
}

/** Adds a passkey (a new credential of `authenticator`) in the requester's session. */
export async function addPasskey(f: Flows, requester: Requester, authenticator: SoftAuthenticator, label: string | null = null) {
  const started = await startAddingPasskey(f.deps, f.rp, requester);
  return finishAddingPasskey(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: authenticator.register(started.options), label });
}

// ---- reading what the flows wrote ----

export function auditRows(f: Flows, action: string, subjectUserId?: string | null) {
  let query = f.t.db.selectFrom('audit_events').selectAll().where('action', '=', action);
  if (subjectUserId !== undefined) query = subjectUserId === null ? query.where('subject_user_id', 'is', null) : query.where('subject_user_id', '=', subjectUserId);
  return query.orderBy('id', 'asc').execute();
}

export function notifications(f: Flows, userId: string, kind?: string) {
  let query = f.t.db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
  if (kind) query = query.where('kind', '=', kind);
  // Notification ids are random: oldest first by the (test) clock.
  return query.orderBy('created_at', 'asc').execute();
}

export function sessionRow(f: Flows, sessionId: string) {
  return f.t.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
}

export function sessionsOf(f: Flows, userId: string) {
  return f.t.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'asc').execute();
}

export function factorsOf(f: Flows, userId: string) {
  return f.t.db.selectFrom('factors').selectAll().where('user_id', '=', userId).orderBy('created_at', 'asc').execute();
}

export async function activeFactor(f: Flows, userId: string, kind: 'passkey' | 'totp' | 'backup_codes' | 'password') {
  return f.t.db.selectFrom('factors').selectAll().where('user_id', '=', userId).where('kind', '=', kind).where('status', '=', 'active').executeTakeFirstOrThrow();
}

export function rateLimit(f: Flows, key: string) {
  return f.t.db.selectFrom('rate_limits').selectAll().where('key', '=', key).executeTakeFirst();
}

export function count(f: Flows, table: 'sessions' | 'audit_events' | 'notifications' | 'factors' | 'users' | 'remembered_devices') {
  return f.t.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
    .then((row) => Number(row.n));
}

/** Sorted copy: array columns compared as sets. */
export const sorted = (values: readonly string[]) => [...values].sort();

/** The session a token names is gone (revoked, or the token rotated away). */
export async function expectNoSession(f: Flows, token: string) {
  expect(await findSession(f, token)).toBeNull();
}
