import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { createSession } from '../src/sessions/sessions.ts';
import { createTestApp, seedSignedInUser, TEST_ORIGIN } from './helpers/app.ts';

const t = await createTestApp();

interface Operation {
  method: string;
  /** The spec's path with its parameters filled in by random uuids. */
  path: string;
  label: string;
}

/** Every state-changing operation the API describes: what a cross-site page would aim at. */
async function stateChangingOperations(): Promise<Operation[]> {
  const spec = (await (await t.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  const operations: Operation[] = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    for (const method of Object.keys(methods)) {
      if (['get', 'head', 'options', 'trace'].includes(method)) continue;
      const path = template.replace(/\{[^}]+\}/g, () => randomUUID());
      operations.push({ method: method.toUpperCase(), path, label: `${method.toUpperCase()} ${template}` });
    }
  }
  return operations;
}

/** Ways a request from another site (or from no browser at all) could try to pass for ours. */
const forgeries: Record<string, { headers: Record<string, string>; body?: string }> = {
  'a foreign Origin': { headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' },
  'neither Origin nor Sec-Fetch-Site': { headers: { 'content-type': 'application/json' }, body: '{}' },
  'Sec-Fetch-Site: cross-site (with our Origin)': { headers: { origin: TEST_ORIGIN, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, body: '{}' },
  'text/plain from our origin': { headers: { origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' }, body: '{}' },
  'a urlencoded form from our origin': { headers: { origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' },
  'a multipart form from our origin': { headers: { origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin', 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--\r\n' },
};

/** Every row of every table, to show that a refused request changed nothing at all. */
async function everything(): Promise<Record<string, string[]>> {
  const tables = (await t.db.introspection.getTables()).map((table) => table.name).filter((name) => !name.startsWith('kysely_'));
  const rows: Record<string, string[]> = {};
  for (const table of tables.sort()) {
    const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(t.db);
    rows[table] = result.rows.map((row) => JSON.stringify(row)).sort();
  }
  return rows;
}

describe('CSRF sweep: every state-changing operation in /openapi.json refuses forged requests, signed in or not', async () => {
  const operations = await stateChangingOperations();

  it('the sweep covers the API (a broken spec must not make it pass with nothing to check)', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations.map((operation) => operation.label)).toEqual(
      expect.arrayContaining(['DELETE /api/session', 'POST /api/sessions/revoke-others', 'DELETE /api/factors/{id}', 'POST /api/signin/password', 'POST /api/factors/password']),
    );
    // Each one is a real route: a same-origin JSON request (signed out) gets past the gate to it.
    for (const operation of operations) {
      const response = await t.client().request(operation.method, operation.path, operation.method === 'DELETE' ? undefined : {});
      expect(response.status, operation.label).not.toBe(404);
      expect(response.body?.error?.code, operation.label).not.toBe('csrf_rejected');
    }
  });

  it('all are refused 403 csrf_rejected, and nothing changes: not a row, not the sessions', async () => {
    const signedIn = t.client();
    const { user } = await seedSignedInUser(t, signedIn, { factors: [{ kind: 'passkey' }, { kind: 'totp' }] });
    // Another session of the same user, which revoke-others would end.
    const elsewhere = t.client({ clientAddress: '198.51.100.40' });
    const other = await createSession(
      t.db,
      t.keyring,
      user.id,
      { amr: ['passkey', 'uv'], factorIds: [], aal: 2, phishingResistant: true },
      { idleSeconds: t.config.sessionIdleSeconds, absoluteSeconds: t.config.sessionAbsoluteSeconds },
      { now: t.clock.now(), clientAddress: elsewhere.clientAddress, userAgent: 'LatchTest/1.0', requestId: null },
    );
    elsewhere.cookies.set(SESSION_COOKIE, other.token);
    const before = await everything();
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['audit_events', 'ceremonies', 'factors', 'rate_limits', 'sessions', 'users']));

    const states = { 'signed out': {}, 'signed in': { cookie: `${SESSION_COOKIE}=${signedIn.sessionToken}` } };
    let checked = 0;
    for (const [state, sessionHeaders] of Object.entries(states)) {
      for (const [forgery, { headers, body }] of Object.entries(forgeries)) {
        for (const operation of operations) {
          const response = await t.app.request(operation.path, { method: operation.method, headers: { ...headers, ...sessionHeaders }, body });
          const label = `${operation.label}, ${state}, ${forgery}`;
          expect(response.status, label).toBe(403);
          expect((await response.json()).error.code, label).toBe('csrf_rejected');
          checked += 1;
        }
      }
    }
    expect(checked).toBe(operations.length * Object.keys(forgeries).length * 2);

    expect(await everything()).toEqual(before);
    expect((await signedIn.get('/api/session')).status).toBe(200);
    expect((await elsewhere.get('/api/session')).status).toBe(200);
  });

  it('a DELETE without a body is refused from a foreign Origin or with Sec-Fetch-Site: cross-site, and the session lives on', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const forged: Record<string, string>[] = [{ origin: 'https://evil.example' }, { origin: TEST_ORIGIN, 'sec-fetch-site': 'cross-site' }, {}];
    for (const headers of forged) {
      for (const operation of operations.filter((candidate) => candidate.method === 'DELETE')) {
        const response = await t.app.request(operation.path, { method: 'DELETE', headers: { ...headers, cookie: `${SESSION_COOKIE}=${client.sessionToken}` } });
        expect(response.status, `${operation.label} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    expect((await client.get('/api/session')).status).toBe(200);
  });
});
