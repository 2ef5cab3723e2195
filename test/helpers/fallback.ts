import type { TestApp, TestClient } from './app.ts';
import { codeFromUri } from './authenticator.ts';

export const GOOD_PASSWORD = 'correct horse battery';

let counter = 0;
export function uniqueUsername(prefix = 'fb'): string {
  return `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface FallbackUser {
  username: string;
  password: string;
  userId: string;
  otpauthUri: string;
  secret: string;
  backupCodes: string[];
  /** The code the user's authenticator shows now (by the test clock). */
  code(stepOffset?: number): string;
}

/**
 * Signs up through the API (start → code from an independent authenticator → verify), leaving
 * `client` signed in. Moves the clock to the next time step, so the enrollment code is spent.
 */
export async function signUpWithTotp(t: TestApp, client: TestClient, options: { username?: string; password?: string } = {}): Promise<FallbackUser> {
  const username = options.username ?? uniqueUsername();
  const password = options.password ?? GOOD_PASSWORD;
  const start = await client.post('/api/signup/totp/start', { username, password });
  if (start.status !== 200) throw new Error(`signup start failed: ${start.status} ${JSON.stringify(start.body)}`);
  const verify = await client.post('/api/signup/totp/verify', { ceremonyId: start.body.ceremonyId, code: codeFromUri(start.body.otpauthUri, t.clock.now()) });
  if (verify.status !== 201) throw new Error(`signup verify failed: ${verify.status} ${JSON.stringify(verify.body)}`);
  t.clock.advance(30);
  return {
    username,
    password,
    userId: verify.body.user.id,
    otpauthUri: start.body.otpauthUri,
    secret: start.body.secret,
    backupCodes: verify.body.backupCodes,
    code: (stepOffset = 0) => codeFromUri(start.body.otpauthUri, t.clock.now(), stepOffset),
  };
}

/** The password step; returns the ticket. */
export async function passwordStep(client: TestClient, username: string, password: string): Promise<string> {
  const response = await client.post('/api/signin/password', { username, password });
  if (response.status !== 200 || !response.body.ticket) throw new Error(`password step failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.ticket;
}

/** Password + TOTP sign-in in a fresh step (the clock moves on 30 s first, so the code is unspent). */
export async function signInWithTotp(t: TestApp, client: TestClient, user: FallbackUser, extra: Record<string, unknown> = {}) {
  t.clock.advance(30);
  const ticket = await passwordStep(client, user.username, user.password);
  return client.post('/api/signin/totp', { ticket, code: user.code(), ...extra });
}

/**
 * Wrong codes that are never right by chance: none of the codes the app would accept around now
 * (one step either side). The first is what most tests need.
 */
export function wrongCodes(user: { code(stepOffset?: number): string }, count: number): string[] {
  const valid = new Set([user.code(-1), user.code(), user.code(1)]);
  const codes: string[] = [];
  for (let n = 0; codes.length < count; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) codes.push(candidate);
  }
  return codes;
}

export function notTheCode(user: { code(stepOffset?: number): string }): string {
  return wrongCodes(user, 1)[0]!;
}
