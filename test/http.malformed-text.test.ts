import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { GOOD_PASSWORD, signUpWithTotp } from './helpers/fallback.ts';
import { addPasskey, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();
let addressCounter = 0;
const client = () => t.client({ clientAddress: `192.0.2.${(++addressCounter % 250) + 1}` });

/** Strings PostgreSQL refuses (text and jsonb take neither) — JSON lets a client send both. */
const MALFORMED = { nul: 'bad\u0000name', loneHigh: 'bad\ud800name', loneLow: 'bad\udc00name', trailingHigh: 'name\ud83d' };

function expectValidationFailed(response: { status: number; body: any }, field: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect(response.body.error).toMatchObject({ code: 'validation_failed', issues: [expect.objectContaining({ path: field })] });
}

describe('NUL characters and unpaired surrogates are refused with 400, never reach the database as a 500', () => {
  for (const [kind, bad] of Object.entries(MALFORMED)) {
    it(`${kind}: usernames at sign-up and sign-in`, async () => {
      expectValidationFailed(await client().post('/api/signup/passkey/options', { username: bad }), 'username');
      expectValidationFailed(await client().post('/api/signup/totp/start', { username: bad, password: GOOD_PASSWORD }), 'username');
      expectValidationFailed(await client().post('/api/signin/passkey/options', { username: bad }), 'username');
      expectValidationFailed(await client().post('/api/signin/password', { username: bad, password: GOOD_PASSWORD }), 'username');
    });

    it(`${kind}: display names and passwords`, async () => {
      expectValidationFailed(await client().post('/api/signup/passkey/options', { username: `dn-${addressCounter}`, displayName: bad }), 'displayName');
      expectValidationFailed(await client().post('/api/signup/totp/start', { username: `dn-${addressCounter}`, password: GOOD_PASSWORD, displayName: bad }), 'displayName');
      expectValidationFailed(await client().post('/api/signup/totp/start', { username: `pw-${addressCounter}`, password: `${GOOD_PASSWORD}${bad}` }), 'password');
      expectValidationFailed(await client().post('/api/signin/password', { username: 'someone', password: `${GOOD_PASSWORD}${bad}` }), 'password');
    });

    it(`${kind}: labels (rename, a new passkey) and a new password`, async () => {
      const { client: owner } = await signedUpUser(t);
      const factors = (await owner.get('/api/factors')).body;
      expectValidationFailed(await owner.patch(`/api/factors/${factors[0].id}`, { label: bad }), 'label');
      const started = await owner.post('/api/factors/passkeys/options');
      const response = new SoftAuthenticator().register(started.body.options);
      expectValidationFailed(await owner.post('/api/factors/passkeys/verify', { ceremonyId: started.body.ceremonyId, response, label: bad }), 'label');
      expectValidationFailed(await owner.post('/api/factors/password', { newPassword: `${GOOD_PASSWORD}${bad}` }), 'newPassword');
    });
  }

  it('well-formed text outside the BMP (a surrogate pair) is fine', async () => {
    const { client: owner } = await signedUpUser(t);
    const factors = (await owner.get('/api/factors')).body;
    const renamed = await owner.patch(`/api/factors/${factors[0].id}`, { label: 'Key 🔑' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.factor.label).toBe('Key 🔑');
    expect((await addPasskey(owner, new SoftAuthenticator(), { label: '𝒦ey' })).response.status).toBe(201);
  });

  it('a TOTP sign-up with a well-formed display name still works', async () => {
    await signUpWithTotp(t, client());
  });
});

describe('integers a client sends are bounded', () => {
  it('GET /api/audit?before= beyond the bigint range → 400, not an overflow 500; the largest bigint is fine', async () => {
    const { client: owner } = await signedUpUser(t);
    for (const before of ['9999999999999999999', '9223372036854775808']) {
      const response = await owner.get(`/api/audit?before=${before}`);
      expectValidationFailed(response, 'before');
    }
    const largest = await owner.get('/api/audit?before=9223372036854775807');
    expect(largest.status).toBe(200);
    expect(largest.body.events.length).toBeGreaterThan(0);
    expect((await owner.get('/api/audit?limit=100000000000000000000')).status).toBe(400);
  });
});
