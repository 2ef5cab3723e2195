import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';
import { addPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

/**
 * Threat: a user past their organization's passkey deadline signs in with password + TOTP and
 * uses the restricted session for anything but enrolling a passkey — reading their factors,
 * adding another TOTP, changing the password, skipping the requirement, passing forward-auth,
 * administering. Every operation /openapi.json describes is tried with the restricted cookie;
 * all but the few that lead to a passkey (or out) answer 403 `passkey_required`, and nothing changes.
 */

const t = await createTestApp();

const ALLOWED = new Set(['GET /api/session', 'DELETE /api/session', 'POST /api/factors/passkeys/options', 'POST /api/factors/passkeys/verify', 'POST /api/step-up/totp',
  // Answers, but never lets the proxy in: it sends the browser to the sign-in page (test/forward-auth.test.ts, forward-auth.restricted-session).
  'GET /api/forward-auth']);

async function everything(): Promise<Record<string, string[]>> {
  const tables = (await t.db.introspection.getTables()).map((table) => table.name).filter((name) => !name.startsWith('kysely_'));
  const rows: Record<string, string[]> = {};
  for (const table of tables.sort()) {
    const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.db);
    rows[table] = result.rows.map((row) => JSON.stringify(row)).sort();
  }
  return rows;
}

/** A TOTP user, the default group required since now, signed in again: a restricted session. */
async function restrictedUser() {
  const client = t.client();
  const user = await signUpWithTotp(t, client);
  const now = t.clock.now();
  await t.db.updateTable('groups').set({ rollout_mode: 'required', passkey_deadline: now, updated_at: now }).where('is_default', '=', true).execute();
  client.cookies.clear();
  const signedIn = await signInWithTotp(t, client, user);
  expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
  return { client, user, signedIn };
}

describe('a restricted session can only enroll a passkey, read itself and sign out', async () => {
  const spec = (await (await t.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.entries(spec.paths).flatMap(([template, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), template, path: template.replace(/\{[^}]+\}/g, () => randomUUID()) })),
  );

  it('the sign-in says so, and so does GET /api/session after a reload', async () => {
    const { client, signedIn } = await restrictedUser();
    expect(signedIn.body.rollout).toEqual({ restricted: true, since: expect.any(String) });
    const me = await client.get('/api/session');
    expect(me.status).toBe(200);
    expect(me.body.rollout).toEqual(signedIn.body.rollout);
  });

  it('every other operation in /openapi.json answers 403 passkey_required, and changes nothing', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(40);
    const { client } = await restrictedUser();
    const before = await everything();
    const refused: string[] = [];
    for (const operation of operations) {
      const label = `${operation.method} ${operation.template}`;
      if (ALLOWED.has(label) || !operation.template.startsWith('/api/')) continue;
      const response = await client.request(operation.method, operation.path, operation.method === 'GET' || operation.method === 'DELETE' ? undefined : {});
      expect(response.status, label).toBe(403);
      expect(response.body?.error?.code, label).toBe('passkey_required');
      refused.push(label);
    }
    expect(refused).toEqual(expect.arrayContaining(['GET /api/factors', 'POST /api/factors/totp/setup', 'POST /api/factors/password', 'DELETE /api/session/passkey-invitation', 'POST /api/forward-auth/continue', 'GET /api/admin/users']));
    // A path no route answers, and a trailing slash, are refused the same way.
    expect((await client.get('/api/not-a-route')).body.error.code).toBe('passkey_required');
    expect((await client.get('/api/factors/')).body.error.code).toBe('passkey_required');
    expect(await everything()).toEqual(before);
    expect((await client.get('/api/session')).status).toBe(200);
  });

  it('enrolling a passkey lifts it (a new token), and the API opens', async () => {
    const { client } = await restrictedUser();
    const before = client.sessionToken;
    const added = await addPasskey(client, new SoftAuthenticator());
    expect(added.response.status, JSON.stringify(added.response.body)).toBe(201);
    expect(client.sessionToken).not.toBe(before);
    expect((await client.get('/api/session')).body.rollout).toBeNull();
    expect((await client.get('/api/factors')).status).toBe(200);
  });

  it('signing out works', async () => {
    const { client } = await restrictedUser();
    expect((await client.delete('/api/session')).status).toBe(204);
    expect((await client.get('/api/session')).status).toBe(401);
  });
});
