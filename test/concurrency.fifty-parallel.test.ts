import { beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.ts';
import { createTestApp, type TestApp, type TestClient } from './helpers/app.ts';
import { passwordStep, signUpWithTotp } from './helpers/fallback.ts';
import { signedUpUser } from './helpers/passkeys.ts';

/**
 * One-time things spent by 50 truly parallel requests over two app instances (two connection
 * pools) on PostgreSQL: exactly one wins. The files named after each threat test the same with a
 * handful of requests on every database (backup-codes.concurrent-reuse, totp.replay,
 * ceremony.concurrent-consume); this is the wide race, where a check-then-write would show.
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const PARALLEL = 50;

describe.runIf(onPostgres)('50 parallel uses of one secret on PostgreSQL: exactly one succeeds', () => {
  let t: TestApp;
  let other: App;
  beforeAll(async () => {
    t = await createTestApp();
    other = t.anotherInstance();
  });
  /** 50 clients, each from its own address (per-address limits are not what is tested), alternating instances. */
  const clients = (prefix: number) =>
    Array.from({ length: PARALLEL }, (_, i) => t.client({ clientAddress: `10.${prefix}.${Math.floor(i / 200)}.${(i % 200) + 1}` }));
  const onEither = (client: TestClient, i: number) => (i % 2 ? client.via(other) : client);
  /** Tickets a few at a time: each is an argon2 check (19 MiB). */
  async function ticketsFor(list: TestClient[], user: { username: string; password: string }): Promise<string[]> {
    const tickets: string[] = [];
    for (let i = 0; i < list.length; i += 5) tickets.push(...(await Promise.all(list.slice(i, i + 5).map((client) => passwordStep(client, user.username, user.password)))));
    return tickets;
  }
  function expectOneWinner(statuses: Array<{ status: number; body: any }>, refusedCodes: string[]) {
    expect(statuses.filter((response) => response.status === 200)).toHaveLength(1);
    for (const response of statuses.filter((r) => r.status !== 200)) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(refusedCodes).toContain(response.body.error.code);
    }
  }

  it('one backup code', async () => {
    const user = await signUpWithTotp(t, t.client());
    const list = clients(1);
    const tickets = await ticketsFor(list, user);
    const code = user.backupCodes[0]!;
    const responses = await Promise.all(list.map((client, i) => onEither(client, i).post('/api/signin/backup-code', { ticket: tickets[i], code })));
    // Refused: spent already, or (past the account's free daily attempts) held back by the lockout.
    expectOneWinner(responses, ['code_invalid', 'locked_out']);
    const used = await t.db
      .selectFrom('backup_codes')
      .innerJoin('factors', 'factors.id', 'backup_codes.factor_id')
      .select('backup_codes.id')
      .where('factors.user_id', '=', user.userId)
      .where('backup_codes.used_at', 'is not', null)
      .execute();
    expect(used).toHaveLength(1);
  }, 120_000);

  it('one TOTP code', async () => {
    const user = await signUpWithTotp(t, t.client());
    const list = clients(2);
    const tickets = await ticketsFor(list, user);
    const code = user.code();
    const responses = await Promise.all(list.map((client, i) => onEither(client, i).post('/api/signin/totp', { ticket: tickets[i], code })));
    expectOneWinner(responses, ['code_invalid', 'locked_out']);
    const sessions = await t.db.selectFrom('sessions').select('id').where('user_id', '=', user.userId).execute();
    expect(sessions).toHaveLength(2); // the sign-up's and the one winner's
  }, 120_000);

  it('one passkey sign-in ceremony', async () => {
    const { authenticator, user } = await signedUpUser(t);
    const list = clients(3);
    const started = await list[0]!.post('/api/signin/passkey/options', {});
    const body = { ceremonyId: started.body.ceremonyId, response: authenticator.assert(started.body.options) };
    const responses = await Promise.all(list.map((client, i) => onEither(client, i).post('/api/signin/passkey/verify', body)));
    expectOneWinner(responses, ['ceremony_invalid']);
    const sessions = await t.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    expect(sessions).toHaveLength(2);
  });
});
