import { describe, expect, it } from 'vitest';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { anonymous, createFlows, signUpPasskeyUser, signUpTotpUser, uniqueUsername } from './helpers.ts';
import { StatementLog } from '../helpers/statement-log.ts';

const f = await createFlows();

async function statementsOf(input: { username: string; password: string }): Promise<string[]> {
  const log = new StatementLog();
  const result = await submitPassword({ ...f.deps, db: f.deps.db.withPlugin(log) }, anonymous(f), { ...input, deviceToken: null });
  expect(result.kind).toBe('ticket');
  return log.kinds;
}

/**
 * Issue 10, finding 8: the password step answered 3–4 ms slower for existing usernames (extra
 * lookups and an audit insert before answering). The same statements now run whoever asks; the
 * argon2 work is the same too (password-signin.enumeration.test.ts), and `npm run bench` prints
 * the timing ratio.
 */
describe('the password step does the same database work whether or not the username exists', () => {
  it('unknown name, wrong password, right password, a user without a password: the same statements', async () => {
    const withTotp = await signUpTotpUser(f);
    const passkeyOnly = await signUpPasskeyUser(f);
    const unknown = await statementsOf({ username: uniqueUsername('nobody'), password: 'whatever it is' });
    expect(unknown).toEqual(['SelectQueryNode', 'InsertQueryNode', 'InsertQueryNode']);
    expect(await statementsOf({ username: withTotp.username, password: 'not the password' })).toEqual(unknown);
    expect(await statementsOf({ username: withTotp.username, password: withTotp.password })).toEqual(unknown);
    expect(await statementsOf({ username: passkeyOnly.username, password: 'whatever it is' })).toEqual(unknown);
  });
});
