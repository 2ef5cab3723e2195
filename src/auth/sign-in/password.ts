import { recordAudit } from '../../audit/audit.ts';
import { createCeremony } from '../../ceremonies/ceremonies.ts';
import type { CeremonyData } from '../../ceremonies/data.ts';
import { keyedHash, seal, type Keyring } from '../../crypto/keyring.ts';
import type { Db } from '../../db/database.ts';
import type { User } from '../../db/schema.ts';
import { hashPassword, storePasswordHash, verifyDummyPassword, verifyPassword, type PasswordCheck } from '../../factors/password.ts';
import { findRememberedDevice, touchRememberedDevice } from '../../factors/remembered-devices.ts';
import { accountSubject, guesserSubject } from '../../lockout/second-factor.ts';
import { normalizeUsername } from '../../users/users.ts';
import { completeSignIn } from '../complete-sign-in.ts';
import type { AuthDeps, EstablishedSession, Requester } from '../requester.ts';

/** A ticket lives five minutes and allows three codes; the lockout counters limit more than that. */
export const TICKET_TTL_SECONDS = 5 * 60;
export const TICKET_MAX_ATTEMPTS = 3;
/** Always both: which methods a user has would otherwise tell an attacker about the account. */
export const SECOND_FACTOR_METHODS = ['totp', 'backup_code'] as const;

export const rehashContext = (userId: string) => `password-rehash:${userId}`;
export const passwordHashTag = (keyring: Keyring, passwordHash: string) => keyedHash(keyring, 'signin-password-hash', passwordHash);

export type PasswordStepResult =
  | { kind: 'ticket'; ticket: string; methods: (typeof SECOND_FACTOR_METHODS)[number][] }
  | { kind: 'signed_in'; user: User; established: EstablishedSession };

interface Candidate {
  user: User;
  passwordFactorId: string | null;
  passwordHash: string | null;
  hasSecondFactor: boolean;
}

/**
 * The user, their password and whether they have a second factor, in one query: an unknown
 * username runs the same query (and then the same argon2 work and the same writes), so the answer
 * takes as long whether or not the account exists.
 */
async function findCandidate(db: Db, normalizedUsername: string): Promise<Candidate | null> {
  const row = await db
    .selectFrom('users')
    .leftJoin('factors as password', (join) =>
      join.onRef('password.user_id', '=', 'users.id').on('password.kind', '=', 'password').on('password.status', '=', 'active'),
    )
    .selectAll('users')
    .select(['password.id as password_factor_id', 'password.password_hash'])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('factors as second')
            .select('second.id')
            .whereRef('second.user_id', '=', 'users.id')
            .where('second.status', '=', 'active')
            .where('second.kind', 'in', ['totp', 'backup_codes']),
        )
        .as('has_second_factor'),
    )
    .where('users.username', '=', normalizedUsername)
    .where('users.status', '=', 'active')
    .executeTakeFirst();
  if (!row) return null;
  const { password_factor_id, password_hash, has_second_factor, ...user } = row;
  return { user, passwordFactorId: password_factor_id, passwordHash: password_hash, hasSecondFactor: Boolean(has_second_factor) };
}

/**
 * The first step of the fallback: the password. Answers a ticket for the second factor, the same
 * for unknown users, wrong passwords and users without a second factor — or, on a remembered
 * browser, signs in (the device token stands in for the code).
 */
export async function submitPassword(
  deps: AuthDeps,
  requester: Requester,
  input: { username: string; password: string; deviceToken: string | null },
): Promise<PasswordStepResult> {
  const normalized = normalizeUsername(input.username);
  const candidate = normalized.length > 0 && normalized.length <= 64 ? await findCandidate(deps.db, normalized) : null;

  let check: PasswordCheck = { valid: false, needsRehash: false };
  // No user or no password: the same argon2 work, so the answer takes as long.
  if (candidate?.passwordHash) check = await verifyPassword(candidate.passwordHash, input.password);
  else await verifyDummyPassword(input.password);

  const passwordOk = candidate !== null && candidate.passwordFactorId !== null && check.valid && candidate.hasSecondFactor;
  if (passwordOk && input.deviceToken) {
    const signedIn = await signInOnRememberedDevice(deps, requester, { ...candidate, passwordFactorId: candidate.passwordFactorId! }, input.password, check.needsRehash, input.deviceToken);
    if (signedIn) return signedIn;
  }

  // Written for every attempt, unknown names included, so both cost the same; the owner sees
  // password failures in their audit log, the caller sees nothing of it.
  await recordAudit(deps.db, requester, {
    action: 'signin.password',
    outcome: check.valid ? 'success' : 'failure',
    subjectUserId: candidate?.passwordFactorId ? candidate.user.id : null,
    factorId: candidate?.passwordFactorId ?? null,
  });

  const subject = passwordOk ? accountSubject(candidate.user.id) : guesserSubject(deps.keyring, normalized);
  const ticketData: CeremonyData<'signin_ticket'> = {
    subject: subject.subject,
    subjectUserId: subject.userId,
    passwordOk,
    passwordFactorId: passwordOk ? candidate.passwordFactorId : null,
    passwordHashTag: passwordOk ? passwordHashTag(deps.keyring, candidate.passwordHash!) : null,
    rehash: passwordOk && check.needsRehash ? seal(deps.keyring, Buffer.from(input.password, 'utf8'), rehashContext(candidate.user.id)) : null,
  };
  const ticket = await createCeremony(
    deps.db,
    deps.keyring,
    { kind: 'signin_ticket', userId: candidate?.user.id ?? null, data: { ...ticketData }, ttlSeconds: TICKET_TTL_SECONDS, maxAttempts: TICKET_MAX_ATTEMPTS },
    requester.now,
  );
  return { kind: 'ticket', ticket, methods: [...SECOND_FACTOR_METHODS] };
}

/**
 * On a remembered browser a right password signs in: the device token (a 256-bit possession
 * secret issued after a password + TOTP sign-in) stands in for the code. Null when there is no
 * live remembered device for this user here.
 */
async function signInOnRememberedDevice(
  deps: AuthDeps,
  requester: Requester,
  candidate: Candidate & { passwordFactorId: string },
  password: string,
  needsRehash: boolean,
  deviceToken: string,
): Promise<PasswordStepResult | null> {
  const { user } = candidate;
  const device = await findRememberedDevice(deps.db, deps.keyring, user.id, deviceToken, requester.now);
  if (!device) return null;
  const newHash = needsRehash ? await hashPassword(password) : null;
  const established = await deps.db.transaction().execute(async (trx) => {
    if (newHash) await storePasswordHash(trx, user.id, newHash, requester.now);
    await touchRememberedDevice(trx, device.id, requester.now);
    await recordAudit(trx, requester, {
      action: 'signin.remembered_device',
      outcome: 'success',
      actorUserId: user.id,
      subjectUserId: user.id,
      factorId: candidate.passwordFactorId,
      details: { deviceId: device.id, rehashed: newHash !== null },
    });
    return completeSignIn(trx, deps, requester, {
      user,
      proof: { method: 'password_remembered_device', passwordFactorId: candidate.passwordFactorId, rememberedDeviceId: device.id },
    });
  });
  return { kind: 'signed_in', user, established };
}
