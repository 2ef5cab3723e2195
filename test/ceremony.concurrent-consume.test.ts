import { describe, expect, it } from 'vitest';
import { consumeCeremony, createCeremony, deleteStaleCeremonies, spendCeremonyAttempt } from '../src/ceremonies/ceremonies.ts';
import { keyedHash } from '../src/crypto/keyring.ts';
import { createTestApp } from './helpers/app.ts';

const t = await createTestApp();

describe('ceremonies: replay and races', () => {
  it('under concurrent consumers from several connections, exactly one wins', async () => {
    const id = await createCeremony(t.db, t.keyring, { kind: 'passkey_signin', challenge: 'c1', ttlSeconds: 300 }, t.clock.now());
    const handles = [t.db, t.database.connectAgain(), t.database.connectAgain()];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => consumeCeremony(handles[i % handles.length]!, t.keyring, id, 'passkey_signin', t.clock.now())),
    );
    expect(results.filter((result) => result !== null)).toHaveLength(1);
  });

  it('a consumed ceremony cannot be consumed again', async () => {
    const id = await createCeremony(t.db, t.keyring, { kind: 'passkey_signin', ttlSeconds: 300 }, t.clock.now());
    expect(await consumeCeremony(t.db, t.keyring, id, 'passkey_signin', t.clock.now())).not.toBeNull();
    expect(await consumeCeremony(t.db, t.keyring, id, 'passkey_signin', t.clock.now())).toBeNull();
  });

  it('an expired ceremony is refused', async () => {
    const id = await createCeremony(t.db, t.keyring, { kind: 'passkey_signin', ttlSeconds: 60 }, t.clock.now());
    expect(await consumeCeremony(t.db, t.keyring, id, 'passkey_signin', new Date(t.clock.now().getTime() + 61_000))).toBeNull();
  });

  it('a ceremony of one kind cannot be consumed as another', async () => {
    const id = await createCeremony(t.db, t.keyring, { kind: 'passkey_signup', ttlSeconds: 300 }, t.clock.now());
    expect(await consumeCeremony(t.db, t.keyring, id, 'passkey_step_up', t.clock.now())).toBeNull();
    expect(await consumeCeremony(t.db, t.keyring, id, 'passkey_signup', t.clock.now())).not.toBeNull();
  });

  it('stores only a keyed hash of the id the client holds', async () => {
    const id = await createCeremony(t.db, t.keyring, { kind: 'signin_ticket', ttlSeconds: 300 }, t.clock.now());
    const rows = await t.db.selectFrom('ceremonies').select('id_hash').execute();
    expect(rows.some((row) => row.id_hash === id)).toBe(false);
    expect(rows.some((row) => row.id_hash === keyedHash(t.keyring, 'ceremony', id))).toBe(true);
    expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('a multi-attempt ticket allows exactly max_attempts attempts, also concurrently', async () => {
    const id = await createCeremony(t.db, t.keyring, { kind: 'signin_ticket', ttlSeconds: 300, maxAttempts: 3 }, t.clock.now());
    const handles = [t.db, t.database.connectAgain()];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => spendCeremonyAttempt(handles[i % 2]!, t.keyring, id, 'signin_ticket', t.clock.now())));
    expect(results.filter((result) => result !== null)).toHaveLength(3);
  });

  it('the sweep deletes expired and consumed ceremonies only', async () => {
    const cutoff = new Date(t.clock.now().getTime() + 120_000);
    const live = await createCeremony(t.db, t.keyring, { kind: 'totp_setup', ttlSeconds: 600 }, t.clock.now());
    const expired = await createCeremony(t.db, t.keyring, { kind: 'totp_setup', ttlSeconds: 60 }, t.clock.now());
    const consumed = await createCeremony(t.db, t.keyring, { kind: 'totp_setup', ttlSeconds: 600 }, t.clock.now());
    expect(await consumeCeremony(t.db, t.keyring, consumed, 'totp_setup', t.clock.now())).not.toBeNull();
    // Earlier tests left ceremonies too: the sweep is judged row by row, not by a count they change.
    const rows = () => t.db.selectFrom('ceremonies').select(['id_hash', 'expires_at', 'consumed_at']).execute();
    const isStale = (row: { expires_at: Date; consumed_at: Date | null }) => row.expires_at.getTime() <= cutoff.getTime() || row.consumed_at !== null;
    const before = await rows();
    const swept = await deleteStaleCeremonies(t.db, cutoff);
    const after = await rows();
    const hashOf = (id: string) => keyedHash(t.keyring, 'ceremony', id);
    expect(swept).toBe(before.filter(isStale).length);
    expect(after.map((row) => row.id_hash).sort()).toEqual(before.filter((row) => !isStale(row)).map((row) => row.id_hash).sort());
    expect(after.map((row) => row.id_hash)).toContain(hashOf(live));
    expect(after.map((row) => row.id_hash)).not.toContain(hashOf(expired));
    expect(after.map((row) => row.id_hash)).not.toContain(hashOf(consumed));
    expect(await consumeCeremony(t.db, t.keyring, live, 'totp_setup', t.clock.now())).not.toBeNull();
  });
});
