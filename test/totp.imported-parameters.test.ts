import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../src/factors/password.ts';
import { insertTotpFactor, type TotpParameters } from '../src/factors/totp.ts';
import { insertBackupCodeSet } from '../src/factors/backup-codes.ts';
import { createUser } from '../src/users/users.ts';
import { createTestApp, insertFactor } from './helpers/app.ts';
import { totp } from './helpers/authenticator.ts';
import { passwordStep, uniqueUsername } from './helpers/fallback.ts';

const t = await createTestApp();
const PASSWORD = 'an imported passphrase';

/**
 * Issue 9: SHA1 / 6 digits / 30 s was hard-coded when a TOTP factor was stored, so an imported
 * authenticator computing with other parameters could never sign in.
 */
describe('an authenticator keeps the parameters it computes with', () => {
  const cases: TotpParameters[] = [
    { algorithm: 'SHA256', digits: 8, periodSeconds: 60 },
    { algorithm: 'SHA512', digits: 6, periodSeconds: 30 },
    { algorithm: 'SHA1', digits: 8, periodSeconds: 30 },
  ];
  for (const parameters of cases) {
    it(`${parameters.algorithm}, ${parameters.digits} digits, ${parameters.periodSeconds} s: stored as given, its codes sign in, SHA1/6/30 codes do not`, async () => {
      const user = (await createUser(t.db, { username: uniqueUsername('imported') }, t.clock.now()))!;
      await insertFactor(t.db, user.id, { kind: 'password', password_hash: await hashPassword(PASSWORD) }, t.clock.now());
      const secret = randomBytes(20);
      const factor = await insertTotpFactor(t.db, t.keyring, user.id, { secret, parameters, acceptedStep: null, label: 'Imported', boundSessionId: null }, t.clock.now());
      await insertBackupCodeSet(t.db, t.keyring, user.id, t.clock.now());
      expect(factor).toMatchObject({ algorithm: parameters.algorithm, digits: parameters.digits, period_seconds: parameters.periodSeconds, last_used_step: null });

      const client = t.client();
      const defaults = totp(secret, t.clock.now());
      const own = totp(secret, t.clock.now(), { digits: parameters.digits, period: parameters.periodSeconds, algorithm: parameters.algorithm.toLowerCase() as 'sha1' });
      if (defaults !== own) {
        const refused = await client.post('/api/signin/totp', { ticket: await passwordStep(client, user.username, PASSWORD), code: defaults });
        expect(refused.body.error.code).toBe('code_invalid');
      }
      const accepted = await client.post('/api/signin/totp', { ticket: await passwordStep(client, user.username, PASSWORD), code: own });
      expect(accepted.status).toBe(200);
      expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 2, amr: ['pwd', 'otp'] });
    });
  }
});
