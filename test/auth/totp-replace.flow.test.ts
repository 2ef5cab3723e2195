import { describe, expect, it } from 'vitest';
import { finishAddingTotp, startAddingTotp } from '../../src/auth/enroll/totp.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import { codeFromUri } from '../helpers/authenticator.ts';
import { anonymous, auditRows, createFlows, findSession, signedInAs, signInTotp, signUpTotpUser, ticketFor } from './helpers.ts';

const f = await createFlows();

function wrongCodeFor(otpauthUri: string): string {
  const now = f.t.clock.now();
  const valid = new Set([-1, 0, 1].map((offset) => codeFromUri(otpauthUri, now, offset)));
  for (let n = 0; ; n++) if (!valid.has(String(n).padStart(6, '0'))) return String(n).padStart(6, '0');
}

async function activeTotps(userId: string) {
  return f.t.db.selectFrom('factors').selectAll().where('user_id', '=', userId).where('kind', '=', 'totp').where('status', '=', 'active').execute();
}

/** Issue 12, point 7: a new phone. The old app must not end before the new one is proven to work. */
describe('replacing the authenticator app (without HTTP)', () => {
  it('the old app keeps working until the new key is confirmed; then it ends, with its audit row, and the new one signs in', { timeout: 60_000 }, async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    const [old] = await activeTotps(user.user.id);
    // Another browser signed in with the old phone's code: it ends with the old app, saying why.
    const elsewhere = await signInTotp(f, user, { clientAddress: '203.0.113.77' });

    const replacement = await startAddingTotp(f.deps, requester, { replace: true });
    // A wrong code for the new key changes nothing: the old app is still the one.
    await expect(finishAddingTotp(f.deps, requester, { ceremonyId: replacement.ceremonyId, code: wrongCodeFor(replacement.otpauthUri), label: null }))
      .rejects.toMatchObject({ code: 'code_invalid' });
    expect((await activeTotps(user.user.id)).map((factor) => factor.id)).toEqual([old!.id]);

    const done = await finishAddingTotp(f.deps, requester, { ceremonyId: replacement.ceremonyId, code: codeFromUri(replacement.otpauthUri, f.t.clock.now()), label: null });
    expect((await activeTotps(user.user.id)).map((factor) => factor.id)).toEqual([done.factor.id]);
    const oldRow = await f.t.db.selectFrom('factors').selectAll().where('id', '=', old!.id).executeTakeFirstOrThrow();
    expect(oldRow).toMatchObject({ status: 'revoked', revoked_reason: 'replaced' });
    // Through revokeFactor: its audit row beside the new app's.
    const revoked = (await auditRows(f, 'factor.revoke')).filter((row) => row.factor_id === old!.id);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ outcome: 'success' });
    const added = (await auditRows(f, 'factor.add')).filter((row) => row.factor_id === done.factor.id);
    expect(added[0]!.details).toMatchObject({ kind: 'totp', replaces: old!.id });
    // The session that replaced it goes on; the one the old phone opened elsewhere does not.
    expect(await findSession(f, user.established.token)).not.toBeNull();
    const ended = await f.t.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason']).where('id', '=', elsewhere.established.session.id).executeTakeFirstOrThrow();
    expect(ended).toMatchObject({ revoked_reason: 'factor_replaced' });
    expect(ended.revoked_at).not.toBeNull();

    // The old phone's codes no longer sign in; the new phone's do.
    f.t.clock.advance(30);
    const ticket = await ticketFor(f, user);
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket, code: user.code(), rememberDevice: false })).rejects.toMatchObject({ code: 'code_invalid' });
    f.t.clock.advance(30);
    const fresh = await ticketFor(f, user);
    const signedIn = await signInWithTotpCode(f.deps, anonymous(f), { ticket: fresh, code: codeFromUri(replacement.otpauthUri, f.t.clock.now()), rememberDevice: false });
    expect(signedIn.user.id).toBe(user.user.id);
  });

  it('a replacement needs an app to replace; a plain setup still refuses a second app', { timeout: 60_000 }, async () => {
    const user = await signUpTotpUser(f);
    await signInTotp(f, user);
    const requester = await signedInAs(f, user.established);
    await expect(startAddingTotp(f.deps, requester)).rejects.toMatchObject({ code: 'totp_already_enrolled' });
  });
});
