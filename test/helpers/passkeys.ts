import type { TestApp, TestClient, TestResponse } from './app.ts';
import { SoftAuthenticator, type SoftAuthenticatorSettings, type Tamper } from './soft-authenticator.ts';

/** The passkey ceremonies as a browser runs them, driven by a SoftAuthenticator. */

export interface CeremonyRun {
  ceremonyId: string;
  options: any;
  /** What was sent to …/verify, to replay it. */
  body: any;
  response: TestResponse;
}

export async function signUpWithPasskey(
  client: TestClient,
  authenticator: SoftAuthenticator,
  input: { username: string; displayName?: string; label?: string; tamper?: Tamper },
): Promise<CeremonyRun> {
  const started = await client.post('/api/signup/passkey/options', { username: input.username, ...(input.displayName ? { displayName: input.displayName } : {}) });
  if (started.status !== 200) throw new Error(`signup options answered ${started.status}: ${JSON.stringify(started.body)}`);
  const { ceremonyId, options } = started.body;
  const body = { ceremonyId, response: authenticator.register(options, input.tamper), ...(input.label ? { label: input.label } : {}) };
  return { ceremonyId, options, body, response: await client.post('/api/signup/passkey/verify', body) };
}

export async function signInWithPasskey(
  client: TestClient,
  authenticator: SoftAuthenticator,
  input: { username?: string; tamper?: Tamper } = {},
): Promise<CeremonyRun> {
  const started = await client.post('/api/signin/passkey/options', input.username ? { username: input.username } : {});
  if (started.status !== 200) throw new Error(`signin options answered ${started.status}: ${JSON.stringify(started.body)}`);
  const { ceremonyId, options } = started.body;
  const body = { ceremonyId, response: authenticator.assert(options, input.tamper) };
  return { ceremonyId, options, body, response: await client.post('/api/signin/passkey/verify', body) };
}

export async function stepUpWithPasskey(client: TestClient, authenticator: SoftAuthenticator, tamper?: Tamper): Promise<CeremonyRun> {
  const started = await client.post('/api/step-up/passkey/options');
  if (started.status !== 200) throw new Error(`step-up options answered ${started.status}: ${JSON.stringify(started.body)}`);
  const { ceremonyId, options } = started.body;
  const body = { ceremonyId, response: authenticator.assert(options, tamper) };
  return { ceremonyId, options, body, response: await client.post('/api/step-up/passkey/verify', body) };
}

export async function addPasskey(client: TestClient, authenticator: SoftAuthenticator, input: { label?: string; tamper?: Tamper } = {}): Promise<CeremonyRun> {
  const started = await client.post('/api/factors/passkeys/options');
  if (started.status !== 200) throw new Error(`add-passkey options answered ${started.status}: ${JSON.stringify(started.body)}`);
  const { ceremonyId, options } = started.body;
  const body = { ceremonyId, response: authenticator.register(options, input.tamper), ...(input.label ? { label: input.label } : {}) };
  return { ceremonyId, options, body, response: await client.post('/api/factors/passkeys/verify', body) };
}

let userCounter = 0;

/** A new account made through the real sign-up ceremony, signed in on `client`. */
export async function signedUpUser(t: TestApp, settings: SoftAuthenticatorSettings = {}, client = t.client()) {
  const authenticator = new SoftAuthenticator(settings);
  const username = `passkey-user-${++userCounter}-${Math.random().toString(36).slice(2, 8)}`;
  const run = await signUpWithPasskey(client, authenticator, { username });
  if (run.response.status !== 201) throw new Error(`sign-up answered ${run.response.status}: ${JSON.stringify(run.response.body)}`);
  return { client, authenticator, username, user: run.response.body.user as { id: string; username: string }, credential: authenticator.credentials[0]! };
}

/** The audit rows of an action, oldest first. */
export async function auditRows(t: TestApp, action: string) {
  return t.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id', 'asc').execute();
}

export async function passkeyRow(t: TestApp, credentialId: string) {
  return t.db.selectFrom('factors').selectAll().where('credential_id', '=', credentialId).executeTakeFirstOrThrow();
}
