import { recordAudit } from '../../audit/audit.ts';
import type { Factor } from '../../db/schema.ts';
import { assertAcceptablePassword, findActivePassword, hashPassword, storePasswordHash } from '../../factors/password.ts';
import { revokeRememberedDevices } from '../../factors/revocation.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { revokeOtherSessions } from '../../sessions/sessions.ts';
import { byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

/**
 * Sets or changes the password. A change ends the user's other sessions and forgets every
 * remembered browser: whoever knew the old password may hold either.
 */
export async function setPassword(deps: AuthDeps, requester: Requester, input: { newPassword: string }): Promise<{ factor: Factor; endedSessions: number }> {
  const current = signedIn(requester);
  const { session, user } = current;
  const existing = await findActivePassword(deps.db, user.id);
  await requireAllowed(deps.db, existing ? 'password.change' : 'factor.add', current, requester.now);
  assertAcceptablePassword(input.newPassword, user.username);
  const passwordHash = await hashPassword(input.newPassword);

  return deps.db.transaction().execute(async (trx) => {
    const { factor, created } = await storePasswordHash(trx, user.id, passwordHash, requester.now);
    let endedSessions: string[] = [];
    let forgottenDevices: string[] = [];
    if (!created) {
      endedSessions = await revokeOtherSessions(trx, user.id, session.id, 'password_changed', requester.now);
      forgottenDevices = (await revokeRememberedDevices(trx, requester, { userId: user.id, deviceId: null, keepSessionId: session.id })).deviceIds;
    }
    await recordAudit(trx, requester, {
      action: created ? 'factor.add' : 'password.change',
      outcome: 'success',
      ...byOwner(current),
      factorId: factor.id,
      details: { kind: 'password', endedSessions: endedSessions.length, forgottenDevices: forgottenDevices.length },
    });
    await queueNotification(trx, {
      userId: user.id,
      kind: created ? 'factor_added' : 'password_changed',
      payload: { factorId: factor.id, kind: 'password' },
      now: requester.now,
      from: requester,
    });
    return { factor, endedSessions: endedSessions.length };
  });
}
