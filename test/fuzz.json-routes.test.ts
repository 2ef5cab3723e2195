import fc from 'fast-check';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../src/errors.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { createTestApp, seedSignedInUser, TEST_ORIGIN, type TestApp } from './helpers/app.ts';

/**
 * Property-based fuzzing of every JSON route /openapi.json lists: random and mutated bodies
 * (wrong types, huge strings, deep nesting, invalid UTF-8, random bytes in WebAuthn fields) never
 * get a 5xx, every refusal carries a stable code, and the state tables do not change.
 * Fixed seed; LATCH_FUZZ_RUNS (per route) and LATCH_FUZZ_SEED for longer runs (`npm run fuzz`).
 */
const RUNS_PER_ROUTE = Number(process.env.LATCH_FUZZ_RUNS ?? 15);
const SEED = Number(process.env.LATCH_FUZZ_SEED ?? 20261127);
/** Tables whose rows are state. Ceremonies (options answers make them), rate-limit counters and failure audit rows change by design. */
const STATE_TABLES = ['users', 'factors', 'backup_codes', 'sessions', 'remembered_devices', 'notifications', 'groups', 'group_members', 'passkey_exemptions', 'enrollment_links'];

interface Operation {
  method: string;
  path: string;
  properties: string[];
}

let t: TestApp;
let cookie: string;
let operations: Operation[] = [];

beforeAll(async () => {
  t = await createTestApp();
  const client = t.client();
  await seedSignedInUser(t, client, { factors: [{ kind: 'passkey' }, { kind: 'totp' }, { kind: 'password' }] });
  cookie = `${SESSION_COOKIE}=${client.sessionToken}`;
  await client.get('/api/session'); // any first-request bookkeeping happens before the snapshot
  const document = (await client.get('/openapi.json')).body;
  for (const [path, item] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      const schema = operation?.requestBody?.content?.['application/json']?.schema;
      if (!schema) continue;
      operations.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-00000000f022'), properties: Object.keys(schema.properties ?? {}) });
    }
  }
});

async function stateChecksum(): Promise<string> {
  const parts: string[] = [];
  for (const table of STATE_TABLES) {
    const result = await sql<{ sum: string | null }>`
      select md5(string_agg(r::text, '|' order by r::text)) as sum
      from (select (to_jsonb(x) - 'last_seen_at' - 'last_used_at') as r from ${sql.table(table)} x) rows`.execute(t.db);
    parts.push(`${table}:${result.rows[0]?.sum ?? 'empty'}`);
  }
  return parts.join(',');
}

const base64urlBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((bytes) => Buffer.from(bytes).toString('base64url'));
const junkString = fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 50 }), base64urlBytes(64), fc.constant('\u0000'), fc.constant('\ud800'), fc.constant('x'.repeat(70_000)));
/** A WebAuthn credential with random bytes where CBOR, JSON and signatures go. */
const webauthnResponse = fc.record({
  id: base64urlBytes(64),
  rawId: base64urlBytes(64),
  type: fc.oneof(fc.constant('public-key'), junkString),
  response: fc.record({
    clientDataJSON: fc.oneof(base64urlBytes(300), fc.constant(Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'AAAA', origin: TEST_ORIGIN })).toString('base64url'))),
    authenticatorData: base64urlBytes(200),
    signature: base64urlBytes(100),
    attestationObject: base64urlBytes(400),
    userHandle: fc.option(base64urlBytes(64)),
    transports: fc.array(junkString, { maxLength: 3 }),
  }, { requiredKeys: [] }),
  clientExtensionResults: fc.jsonValue({ maxDepth: 2 }),
  authenticatorAttachment: fc.option(junkString),
}, { requiredKeys: [] });

function deep(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** Bodies for one operation: raw bytes, or JSON built from its own field names with wrong or hostile values. */
function bodies(operation: Operation): fc.Arbitrary<string | Uint8Array> {
  const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), junkString, webauthnResponse, fc.integer(), fc.boolean(), fc.constant(null));
  const keys = operation.properties.length > 0 ? operation.properties : ['x'];
  const mutated = fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 })), fieldValue, { maxKeys: keys.length + 2 }).map((body) => JSON.stringify(body));
  return fc.oneof(
    { weight: 5, arbitrary: mutated },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map(deep) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) }, // random bytes: mostly invalid UTF-8
    { weight: 1, arbitrary: fc.constantFrom(...keys).map((key) => Buffer.concat([Buffer.from(`{"${key}":"`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}')])) },
    { weight: 1, arbitrary: fc.constant(JSON.stringify({ [keys[0]!]: 'y'.repeat(70 * 1024) })) }, // over the body limit
  );
}

describe('fuzzing every JSON route: hostile bodies get a 4xx with a stable code, never a 5xx or a change of state', () => {
  it(`every operation in /openapi.json, ${RUNS_PER_ROUTE} bodies each (seed ${SEED})`, async () => {
    expect(operations.length).toBeGreaterThan(10);
    const before = await stateChecksum();
    let address = 0;
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(bodies(operation), async (body) => {
          // A fresh address each time: the per-address limits answer 429 (fine) but would hide the rest.
          address++;
          const response = await t.app.request(operation.path, {
            method: operation.method,
            headers: {
              origin: TEST_ORIGIN,
              'content-type': 'application/json',
              'x-forwarded-for': `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`,
              cookie,
            },
            body: body as BodyInit,
          });
          const text = await response.text();
          const context = `${operation.method} ${operation.path} → ${response.status} ${text.slice(0, 300)}`;
          expect(response.status, context).toBeLessThan(500);
          if (response.status >= 400) {
            const parsed = JSON.parse(text);
            expect(Object.keys(errorCodes), context).toContain(parsed.error.code);
            expect(text, context).not.toMatch(/\bat .*\.(ts|js):\d+/);
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
    }
    expect(await stateChecksum()).toBe(before);
  }, 600_000);
});
