import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decoyCredentials } from '../src/webauthn/decoy-credentials.ts';
import { createTestApp, type TestClient } from './helpers/app.ts';
import { addPasskey, auditRows, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();
let addressCounter = 0;
/** Each probe from its own address, so the per-address limits stay out of the way. */
const prober = () => t.client({ clientAddress: `198.51.100.${(++addressCounter % 250) + 1}` });

/**
 * What a prober does with username-first options: takes a credential id they list and sends a
 * junk assertion under it (signed by a key of the prober's own), with no user handle.
 */
async function junkAssertion(client: TestClient, options: { username?: string; credentialId: string | ((allowed: { id: string }[]) => string) }) {
  const started = await client.post('/api/signin/passkey/options', options.username ? { username: options.username } : {});
  expect(started.status).toBe(200);
  const allowed = started.body.options.allowCredentials ?? [];
  const credentialId = typeof options.credentialId === 'string' ? options.credentialId : options.credentialId(allowed);
  const junk = new SoftAuthenticator();
  junk.register({ rp: { id: 'localhost', name: 'x' }, user: { id: randomBytes(32).toString('base64url'), name: 'x', displayName: 'x' }, challenge: 'x', pubKeyCredParams: [] } as never);
  const response = junk.assert({ ...started.body.options, allowCredentials: [] }, { userHandle: null });
  return client.post('/api/signin/passkey/verify', { ceremonyId: started.body.ceremonyId, response: { ...response, id: credentialId, rawId: credentialId } });
}

describe('decoy credentials cannot be told from real ones', () => {
  it('username-first: a junk assertion under a decoy id and under a real id give byte-identical error bodies', async () => {
    const victim = await signedUpUser(t);
    const real = await junkAssertion(prober(), { username: victim.username, credentialId: (allowed) => allowed[0]!.id });
    const decoy = await junkAssertion(prober(), { username: 'nobody-by-this-name', credentialId: (allowed) => allowed[0]!.id });
    expect(real.status).toBe(401);
    expect(decoy.status).toBe(real.status);
    expect(JSON.stringify(decoy.body)).toBe(JSON.stringify(real.body));
    expect(decoy.body).toEqual({ error: { code: 'passkey_verification_failed', message: expect.any(String) } });
    // The audit log still tells them apart.
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'credential_unknown' });
  });

  it('discoverable: a harvested real id and a decoy id answer alike to anyone without the account’s user handle', async () => {
    const victim = await signedUpUser(t);
    const realId = (await prober().post('/api/signin/passkey/options', { username: victim.username })).body.options.allowCredentials[0].id;
    const decoyId = (await prober().post('/api/signin/passkey/options', { username: 'someone-else-entirely' })).body.options.allowCredentials[0].id;
    const real = await junkAssertion(prober(), { credentialId: realId });
    const decoy = await junkAssertion(prober(), { credentialId: decoyId });
    expect(decoy.status).toBe(real.status);
    expect(JSON.stringify(decoy.body)).toBe(JSON.stringify(real.body));
  });

  it('a removed passkey’s id, harvested while it was live, answers like junk under a live one; its holder is told to forget it', async () => {
    const victim = await signedUpUser(t);
    const old = new SoftAuthenticator();
    const added = await addPasskey(victim.client, old);
    expect(added.response.status).toBe(201);
    const harvested = old.credentials[0]!.id;
    expect((await victim.client.delete(`/api/factors/${added.response.body.factor.id}`)).status).toBe(200);

    const live = await junkAssertion(prober(), { username: victim.username, credentialId: (allowed) => allowed[0]!.id });
    for (const username of [victim.username, undefined]) {
      const revoked = await junkAssertion(prober(), { ...(username ? { username } : {}), credentialId: harvested });
      expect(JSON.stringify(revoked.body)).toBe(JSON.stringify(live.body));
    }
    // The real holder of the removed key proves it with a valid signature: the browser may forget it.
    const started = await prober().post('/api/signin/passkey/options', {});
    const holder = await prober().post('/api/signin/passkey/verify', { ceremonyId: started.body.ceremonyId, response: old.assert(started.body.options) });
    expect(holder.body.error).toMatchObject({ code: 'credential_unknown', credentialId: harvested, rpId: 'localhost' });
  });

  it('transport lists are sorted, as browsers send them, for decoys and for real passkeys alike', async () => {
    for (let i = 0; i < 60; i++) {
      for (const descriptor of decoyCredentials(t.keyring, `decoy-transports-${i}`)) {
        expect(descriptor.transports).toEqual([...descriptor.transports].sort());
        expect(descriptor.transports.length).toBeGreaterThan(0);
      }
    }
    // SoftAuthenticator reports ['internal', 'hybrid'] (unsorted); the server keeps and names it sorted.
    const real = await signedUpUser(t);
    const listed = (await prober().post('/api/signin/passkey/options', { username: real.username })).body.options.allowCredentials;
    expect(listed[0].transports).toEqual(['hybrid', 'internal']);
  });

  it('decoy users have one to three passkeys, most of them one — not always at most two', async () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const count = decoyCredentials(t.keyring, `decoy-count-${i}`).length;
      counts.set(count, (counts.get(count) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 3]);
    expect(counts.get(1)!).toBeGreaterThan(counts.get(2)!);
    expect(counts.get(2)!).toBeGreaterThan(counts.get(3)!);
    // Through the API too: some username gets three.
    let three: string | null = null;
    for (let i = 0; i < 300 && !three; i++) if (decoyCredentials(t.keyring, `api-decoy-${i}`).length === 3) three = `api-decoy-${i}`;
    expect((await prober().post('/api/signin/passkey/options', { username: three })).body.options.allowCredentials).toHaveLength(3);
  });
});
