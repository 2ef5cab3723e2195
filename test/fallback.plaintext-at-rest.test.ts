import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createTestApp } from './helpers/app.ts';
import { decodeBase32 } from './helpers/authenticator.ts';
import { passwordStep, signUpWithTotp } from './helpers/fallback.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { DEVICE_COOKIE } from '../src/http/device-cookie.ts';

const logLines: string[] = [];
const t = await createTestApp({ logger: createLogger('debug', (line) => logLines.push(line)) });

/** Every row of every table, as text. */
async function dumpDatabase(): Promise<string> {
  const tables = ['users', 'factors', 'backup_codes', 'ceremonies', 'sessions', 'audit_events', 'rate_limits', 'notifications', 'remembered_devices'];
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await sql<{ row: string }>`select row_to_json(x)::text as row from ${sql.table(table)} x`.execute(t.db);
    parts.push(...rows.rows.map((row) => row.row));
  }
  return parts.join('\n');
}

/** The forms a secret could be written in. */
function formsOf(secret: string | Buffer): string[] {
  if (Buffer.isBuffer(secret)) return [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url'), `\\x${secret.toString('hex')}`];
  return [secret, secret.toLowerCase(), secret.replace(/-/g, '')];
}

describe('plaintext at rest: after a full sign-up and sign-ins the database holds no secret', () => {
  it('no TOTP secret, backup code, session or device token, ticket, or password in any table or log line', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client, { password: 'plaintext canary passphrase' });
    const secrets: Array<string | Buffer> = [user.password, user.secret, decodeBase32(user.secret), ...user.backupCodes, client.sessionToken!];

    t.clock.advance(30);
    const remembered = t.client();
    const ticket = await passwordStep(remembered, user.username, user.password);
    expect((await remembered.post('/api/signin/totp', { ticket, code: user.code(), rememberDevice: true })).status).toBe(200);
    secrets.push(ticket, remembered.sessionToken!, remembered.cookies.get(DEVICE_COOKIE)!);

    const recovery = t.client();
    const recoveryTicket = await passwordStep(recovery, user.username, user.password);
    expect((await recovery.post('/api/signin/backup-code', { ticket: recoveryTicket, code: user.backupCodes[0] })).status).toBe(200);
    secrets.push(recoveryTicket, recovery.cookies.get(SESSION_COOKIE)!);

    const regenerated = await recovery.post('/api/factors/backup-codes');
    expect(regenerated.status).toBe(201);
    secrets.push(...regenerated.body.codes);

    const dump = await dumpDatabase();
    const logs = logLines.join('\n');
    expect(dump.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      for (const form of formsOf(secret)) {
        expect(dump.includes(form), `database holds a secret (${form.slice(0, 4)}…)`).toBe(false);
        expect(logs.includes(form), `a log line holds a secret (${form.slice(0, 4)}…)`).toBe(false);
      }
    }
    // What is there instead: a sealed secret with its key id, and an argon2id password hash.
    const totp = await t.db.selectFrom('factors').selectAll().where('user_id', '=', user.userId).where('kind', '=', 'totp').executeTakeFirstOrThrow();
    expect(totp.secret_sealed).toMatch(/^v1\./);
    expect(totp.key_id).toBe('k1');
    const password = await t.db.selectFrom('factors').select('password_hash').where('user_id', '=', user.userId).where('kind', '=', 'password').executeTakeFirstOrThrow();
    expect(password.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('a pending enrollment keeps its secret sealed, and it stops working after 10 minutes', async () => {
    const client = t.client();
    const start = await client.post('/api/signup/totp/start', { username: 'pending-sealed', password: 'pending canary passphrase' });
    const dump = await dumpDatabase();
    for (const form of [...formsOf(start.body.secret), ...formsOf(decodeBase32(start.body.secret)), 'pending canary passphrase', start.body.ceremonyId]) {
      expect(dump.includes(form)).toBe(false);
    }
    t.clock.advance(10 * 60 + 1);
    const { codeFromUri } = await import('./helpers/authenticator.ts');
    const late = await client.post('/api/signup/totp/verify', { ceremonyId: start.body.ceremonyId, code: codeFromUri(start.body.otpauthUri, t.clock.now()) });
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('ceremony_invalid');
  });
});
