import { describe, expect, it } from 'vitest';
import { approveRecoveryAsAdmin, openRecoveryAsAdmin } from '../src/auth/admin/recovery.ts';
import { LatchError } from '../src/errors.ts';
import { createFlows, passkeySignIn, signUpPasskeyUser } from './auth/helpers.ts';
import { makeAdmin } from './recovery/helpers.ts';

/**
 * The threat: racing the recovery's rules with parallel requests (two approvals, two requests for
 * one user, a sign-in against an approval). On PostgreSQL these run truly in parallel (a pool).
 */
const f = await createFlows();
const outcome = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error instanceof LatchError ? error.code : `unexpected: ${String(error)}`));

describe('recovery under concurrency', () => {
  it('two admins approving one request at once: exactly one approval', async () => {
    const [a, b, c] = [await makeAdmin(f), await makeAdmin(f), await makeAdmin(f)];
    const user = await signUpPasskeyUser(f);
    const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'race' });
    const [rb, rc] = [await b.fresh(), await c.fresh()];
    const results = await Promise.all([outcome(approveRecoveryAsAdmin(f.deps, rb, { requestId: opened.id })), outcome(approveRecoveryAsAdmin(f.deps, rc, { requestId: opened.id }))]);
    expect(results.sort()).toEqual(['ok', 'recovery_state']);
    const success = await f.t.db.selectFrom('audit_events').select('id').where('action', '=', 'recovery.approve').where('outcome', '=', 'success').where('subject_user_id', '=', user.user.id).execute();
    expect(success).toHaveLength(1);
  });

  it('two admins opening a request for one user at once: one request, the other a clear 409', async () => {
    const [a, b] = [await makeAdmin(f), await makeAdmin(f)];
    const user = await signUpPasskeyUser(f);
    const [ra, rb] = [await a.fresh(), await b.fresh()];
    const results = await Promise.all([outcome(openRecoveryAsAdmin(f.deps, ra, { userId: user.user.id, reason: 'one' })), outcome(openRecoveryAsAdmin(f.deps, rb, { userId: user.user.id, reason: 'two' }))]);
    expect(results.sort()).toEqual(['ok', 'recovery_already_open']);
    expect(await f.t.db.selectFrom('recovery_requests').select('id').where('user_id', '=', user.user.id).execute()).toHaveLength(1);
  });

  it('a sign-in racing an approval: never an open request without the flag that lets a sign-in cancel it', async () => {
    for (let i = 0; i < 3; i++) {
      const [a, b] = [await makeAdmin(f), await makeAdmin(f)];
      const user = await signUpPasskeyUser(f);
      const opened = await openRecoveryAsAdmin(f.deps, await a.fresh(), { userId: user.user.id, reason: 'race' });
      const rb = await b.fresh();
      await Promise.all([outcome(approveRecoveryAsAdmin(f.deps, rb, { requestId: opened.id })), passkeySignIn(f, user)]);
      const request = await f.t.db.selectFrom('recovery_requests').select('status').where('id', '=', opened.id).executeTakeFirstOrThrow();
      const flag = await f.t.db.selectFrom('users').select('recovery_pending').where('id', '=', user.user.id).executeTakeFirstOrThrow();
      // The sign-in read the flag (set at opening) and cancelled, before or after the approval.
      expect(request.status).toBe('cancelled');
      expect(flag.recovery_pending).toBe(false);
    }
  });
});
