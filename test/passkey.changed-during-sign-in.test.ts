import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DeferredWrites, WriteGuardFailed } from '../src/audit/deferred-writes.ts';
import { createTestApp } from './helpers/app.ts';
import { auditRows, passkeyRow, signedUpUser, signInWithPasskey } from './helpers/passkeys.ts';

/**
 * The passkey sign-in runs without a transaction (two statements: the reads, then the writes; see
 * src/auth/passkey-ceremony.ts), so nothing locks the passkey between them. Its writes are guarded
 * by the row it read: a passkey revoked, flagged or used by a parallel sign-in in that gap signs
 * nobody in, and none of the sign-in's writes (session, counter, notification, audit) happen.
 *
 * The gap is opened from the query log: when the reads' statement has run, the test changes the
 * passkey from another connection before the sign-in goes on (on PGlite, its one connection takes
 * the change before the sign-in's writes).
 */
let onReads: (() => Promise<unknown>) | null = null;
let pending: Promise<unknown> | null = null;
const t = await createTestApp({
  log: async (event) => {
    if (event.level !== 'query' || !onReads || !event.query.sql.includes('with hit as')) return;
    const change = onReads;
    onReads = null;
    const run = change();
    if (t.database.kind === 'postgres') await run;
    else pending = Promise.resolve(run);
  },
});
const other = t.database.connectAgain();

async function sessionsOf(userId: string) {
  const row = await t.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('a passkey that changes between the sign-in’s read and its writes', () => {
  it('passkey.revoked-during-sign-in: a passkey revoked in the gap signs nobody in', async () => {
    const { user, authenticator, credential } = await signedUpUser(t);
    const client = t.client({ clientAddress: '198.51.100.70' });
    const sessionsBefore = await sessionsOf(user.id);
    const signInsBefore = (await auditRows(t, 'session.create')).length;
    const countBefore = (await passkeyRow(t, credential.id)).sign_count;

    onReads = () => other.updateTable('factors').set({ status: 'revoked', revoked_at: new Date() }).where('credential_id', '=', credential.id).execute();
    const run = await signInWithPasskey(client, authenticator);
    await pending;

    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('passkey_verification_failed');
    expect(run.response.headers.get('set-cookie') ?? '').not.toContain('latch_session');
    expect(await sessionsOf(user.id)).toBe(sessionsBefore);
    expect((await auditRows(t, 'session.create')).length).toBe(signInsBefore);
    const row = await passkeyRow(t, credential.id);
    expect(row.status).toBe('revoked');
    expect(row.sign_count).toBe(countBefore); // the counter update did not happen either
    const failures = (await auditRows(t, 'passkey.signin')).filter((event) => event.outcome === 'failure');
    expect(failures.at(-1)?.details).toMatchObject({ reason: 'passkey_changed' });
  });

  it('a parallel sign-in that moved the counter first: this one is refused whole, and the next attempt works', async () => {
    const { user, authenticator, credential } = await signedUpUser(t);
    const client = t.client({ clientAddress: '198.51.100.71' });
    const sessionsBefore = await sessionsOf(user.id);

    // What a parallel sign-in with the same passkey would have written: a higher counter.
    onReads = () => other.updateTable('factors').set({ sign_count: sql`sign_count + 1` }).where('credential_id', '=', credential.id).execute();
    const refused = await signInWithPasskey(client, authenticator);
    await pending;
    expect(refused.response.status).toBe(401);
    expect(await sessionsOf(user.id)).toBe(sessionsBefore);
    expect((await passkeyRow(t, credential.id)).flagged_at).toBeNull(); // a lost race is no clone

    authenticator.credentials[0]!.signCount += 5;
    const retried = await signInWithPasskey(client, authenticator);
    expect(retried.response.status, JSON.stringify(retried.response.body)).toBe(200);
    expect(await sessionsOf(user.id)).toBe(sessionsBefore + 1);
  });

  it('without a change in the gap the same sign-in goes through (the guard is not what refuses)', async () => {
    const { user, authenticator } = await signedUpUser(t);
    const run = await signInWithPasskey(t.client({ clientAddress: '198.51.100.72' }), authenticator);
    expect(run.response.status).toBe(200);
    expect(run.response.body.user.id).toBe(user.id);
  });
});

describe('DeferredWrites.require', () => {
  it('writes nothing when the guarded write changes no row', async () => {
    const context = { now: new Date(), clientAddress: null, userAgent: null, requestId: 'guard-test' };
    const writes = new DeferredWrites(context);
    writes.require(t.db.updateTable('users').set({ display_name: 'x' }).where('username', '=', 'nobody-at-all').returning('id'), 'user_gone');
    writes.audit({ action: 'guard.test', outcome: 'success' });
    await expect(writes.flush(t.db)).rejects.toBeInstanceOf(WriteGuardFailed);
    expect(await auditRows(t, 'guard.test')).toHaveLength(0);

    const { user } = await signedUpUser(t);
    const guarded = new DeferredWrites(context);
    guarded.require(t.db.updateTable('users').set({ display_name: 'Guarded' }).where('id', '=', user.id).returning('id'), 'user_gone');
    guarded.audit({ action: 'guard.test', outcome: 'success' });
    await guarded.flush(t.db);
    expect(await auditRows(t, 'guard.test')).toHaveLength(1);
  });
});
