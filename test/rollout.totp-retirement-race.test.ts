import { describe, expect, it } from 'vitest';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';
import { addPasskey, auditRows, createFlows, factorsOf, notifications, passkeySignIn, signedInAs, signUpTotpUser } from './auth/helpers.ts';

/**
 * Threat: two passkey sign-ins at once both cross the retirement threshold, and the TOTP is
 * revoked twice (two notifications, or a sign-in failing on a factor already gone). Run in
 * parallel (truly, on PostgreSQL): one retirement, one notice, both sign-ins succeed.
 */

const f = await createFlows();

describe('TOTP retirement under concurrent passkey sign-ins', () => {
  it.each([1, 2, 3, 4, 5, 6])('run %i: two sign-ins crossing the threshold together retire the TOTP once, and both succeed', async () => {
    const user = await signUpTotpUser(f);
    const now = f.t.clock.now();
    const group = await f.t.db
      .insertInto('groups')
      .values({ name: `retire-${user.username}`, retire_totp_after_passkey_sign_ins: 1, passkey_deadline: null, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    await f.t.db.insertInto('group_members').values({ group_id: group.id, user_id: user.user.id, added_at: now }).execute();
    const keys = [new SoftAuthenticator(), new SoftAuthenticator()];
    for (const key of keys) await addPasskey(f, await signedInAs(f, user.established), key);

    const results = await Promise.allSettled(keys.map((authenticator) => passkeySignIn(f, { username: user.username, user: user.user, established: user.established, authenticator })));
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);

    const totp = (await factorsOf(f, user.user.id)).filter((factor) => factor.kind === 'totp');
    expect(totp.map((factor) => factor.status)).toEqual(['revoked']);
    expect((await auditRows(f, 'factor.revoke', user.user.id)).filter((row) => row.outcome === 'success')).toHaveLength(1);
    expect(await notifications(f, user.user.id, 'totp_retired')).toHaveLength(1);
    expect((await f.t.db.selectFrom('user_rollout').select('passkey_sign_ins').where('user_id', '=', user.user.id).executeTakeFirstOrThrow()).passkey_sign_ins).toBe(2);
  });
});
