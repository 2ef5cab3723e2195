import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { signedUpUser, signInWithPasskey, stepUpWithPasskey } from './helpers/passkeys.ts';

/**
 * Round trips are the passkey sign-in's cost under load (issue 11): every statement is one more
 * socket write and one more wait for PostgreSQL. These tests count the statements (BEGIN and
 * COMMIT included) that one sign-in sends through the whole HTTP stack — rate limits, CSRF,
 * flow, audit — so a change that adds round trips fails here rather than in a benchmark.
 */

const statements: string[] = [];
let recording = false;
const t = await createTestApp({
  log: (event) => {
    if (recording && event.level === 'query') statements.push(event.query.sql.replace(/\s+/g, ' ').slice(0, 120));
  },
});

async function count<T>(work: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  statements.length = 0;
  recording = true;
  try {
    const result = await work();
    return { result, sql: [...statements] };
  } finally {
    recording = false;
  }
}

/** The budgets. Lower them when a change saves a statement; never raise them without a reason in the commit. */
const PASSKEY_SIGN_IN_OPTIONS_MAX = 1;
const PASSKEY_SIGN_IN_VERIFY_MAX = 2;
const SESSION_CHECK_MAX = 1;

describe('statements per passkey sign-in (round-trip budget)', () => {
  it(`options ≤ ${PASSKEY_SIGN_IN_OPTIONS_MAX}, verify ≤ ${PASSKEY_SIGN_IN_VERIFY_MAX}`, async () => {
    const { client, authenticator } = await signedUpUser(t);
    client.cookies.clear(); // a fresh browser: no previous session to end
    const options = await count(() => client.post('/api/signin/passkey/options', {}));
    expect(options.result.status).toBe(200);
    const response = authenticator.assert(options.result.body.options);
    const verify = await count(() => client.post('/api/signin/passkey/verify', { ceremonyId: options.result.body.ceremonyId, response }));
    expect(verify.result.status, JSON.stringify(verify.result.body)).toBe(200);
    expect(options.sql.length, options.sql.join('\n')).toBeLessThanOrEqual(PASSKEY_SIGN_IN_OPTIONS_MAX);
    expect(verify.sql.length, verify.sql.join('\n')).toBeLessThanOrEqual(PASSKEY_SIGN_IN_VERIFY_MAX);
  });

  it(`a session check (GET /api/session) is ≤ ${SESSION_CHECK_MAX} statement`, async () => {
    const { client, authenticator } = await signedUpUser(t);
    const signIn = await signInWithPasskey(client, authenticator);
    expect(signIn.response.status).toBe(200);
    const check = await count(() => client.get('/api/session'));
    expect(check.result.status).toBe(200);
    expect(check.sql.length, check.sql.join('\n')).toBeLessThanOrEqual(SESSION_CHECK_MAX);
  });

  it('a passkey step-up stays within its budget too', async () => {
    const { client, authenticator } = await signedUpUser(t);
    const run = await count(() => stepUpWithPasskey(client, authenticator));
    expect(run.result.response.status, JSON.stringify(run.result.response.body)).toBe(200);
    expect(run.sql.length, run.sql.join('\n')).toBeLessThanOrEqual(30);
  });
});
