import { recordAudit } from '../../audit/audit.ts';
import { LatchError } from '../../errors.ts';
import { findRememberedDevice } from '../../factors/remembered-devices.ts';
import { revokeRememberedDevices } from '../../factors/revocation.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { assertIdShape, byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

/** Which remembered device, if any, the browser's device token names. */
export async function currentDeviceId(deps: AuthDeps, requester: Requester, deviceToken: string | null): Promise<string | null> {
  const { user } = signedIn(requester);
  return deviceToken ? ((await findRememberedDevice(deps.db, deps.keyring, user.id, deviceToken, requester.now))?.id ?? null) : null;
}

/**
 * Forgets one remembered browser, or all of them (`deviceId` null), and ends the sessions they
 * signed in — except the one asking. `forgotThisBrowser`: the caller clears the device cookie.
 */
export async function forgetRememberedBrowsers(
  deps: AuthDeps,
  requester: Requester,
  input: { deviceId: string | null; deviceToken: string | null },
): Promise<{ forgotten: number; endedSessions: number; forgotThisBrowser: boolean }> {
  if (input.deviceId !== null) assertIdShape(input.deviceId, 'remembered_device_not_found');
  const current = signedIn(requester);
  const { session, user } = current;
  const thisBrowser = await currentDeviceId(deps, requester, input.deviceToken);
  const result = await deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'remembered_devices.forget', current, requester.now);
    const revoked = await revokeRememberedDevices(trx, requester, { userId: user.id, deviceId: input.deviceId, keepSessionId: session.id });
    if (input.deviceId && revoked.deviceIds.length === 0) throw new LatchError('remembered_device_not_found');
    await recordAudit(trx, requester, {
      action: 'remembered_device.forget',
      outcome: 'success',
      ...byOwner(current),
      details: { deviceIds: revoked.deviceIds, all: input.deviceId === null, endedSessions: revoked.endedSessionIds.length },
    });
    return revoked;
  });
  return {
    forgotten: result.deviceIds.length,
    endedSessions: result.endedSessionIds.length,
    forgotThisBrowser: thisBrowser !== null && result.deviceIds.includes(thisBrowser),
  };
}
