import { createRoute } from '@hono/zod-openapi';
import type { Transaction } from 'kysely';
import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, createCeremony, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { keyedHash, seal, unseal } from '../../crypto/keyring.ts';
import type { Ceremony, Database, User } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import { listActiveFactors } from '../../factors/factors.ts';
import { redeemBackupCode } from '../../factors/backup-codes.ts';
import { findActivePassword, hashPassword, prepareDummyPassword, storePasswordHash, verifyDummyPassword, verifyPassword } from '../../factors/password.ts';
import { findRememberedDevice, forgetRememberedDevices, rememberDevice, touchRememberedDevice } from '../../factors/remembered-devices.ts';
import { findActiveTotp, useTotpCode } from '../../factors/totp.ts';
import { assertNotLockedOut, lockoutSubject, recordSecondFactorFailure, resetSecondFactorFailures } from '../../lockout/second-factor.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import type { SessionProof } from '../../sessions/sessions.ts';
import { findUserById, findUserByUsername, normalizeUsername, publicUser } from '../../users/users.ts';
import { startSession } from '../auth-session.ts';
import { requestContext, type AppContext, type AppDeps } from '../context.ts';
import { readDeviceCookie, setDeviceCookie } from '../device-cookie.ts';
import { limitByAddress } from '../middleware/address-rate-limit.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { PasswordSchema, wellFormedText } from '../schemas.ts';
import { UserSchema } from './session.ts';
import { CodeSchema } from './totp-shared.ts';

/** A ticket lives five minutes and allows three codes; the lockout counters limit more than that. */
export const TICKET_TTL_SECONDS = 5 * 60;
export const TICKET_MAX_ATTEMPTS = 3;
/** Always both: which methods a user has would otherwise tell an attacker about the account. */
const SECOND_FACTOR_METHODS = ['totp', 'backup_code'] as const;

/**
 * What the ticket remembers between the steps. `passwordOk` is false for unknown users, wrong
 * passwords and users without a second factor alike: the difference shows only as a failed code.
 */
interface TicketData {
  subject: string;
  passwordOk: boolean;
  passwordFactorId: string | null;
  /** A keyed hash of the password hash that was checked: a password changed since voids the ticket. */
  passwordHashTag: string | null;
  /** The password sealed to the user, only when its stored hash is legacy: re-hashed once the sign-in succeeds. */
  rehash: { sealed: string; keyId: string } | null;
}

const rehashContext = (userId: string) => `password-rehash:${userId}`;
const passwordHashTag = (deps: AppDeps, passwordHash: string) => keyedHash(deps.keyring, 'signin-password-hash', passwordHash);

export const passwordStepRateLimit = { limit: 30, windowSeconds: 60, lockoutSeconds: 60 };

const TicketSchema = z.string().min(1).max(128);

export function passwordSigninRoutes(deps: AppDeps) {
  const router = createRouter();
  // Credential stuffing tries many usernames from one address; the second-factor lockout only
  // starts counting once a password was right. This caps the password step itself, per address
  // only, so nobody can lock a user out by failing on their behalf.
  router.use('/api/signin/password', limitByAddress({ db: deps.db, scope: 'password_signin', rule: passwordStepRateLimit }));
  prepareDummyPassword().catch(() => undefined); // a failure here resurfaces, and is retried, at the first sign-in

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/password',
      tags: ['Sign-in'],
      summary: 'First step of the fallback: the password. Answers a ticket for the second factor (or signs in on a remembered browser)',
      request: jsonBody(z.object({ username: wellFormedText().max(256), password: PasswordSchema })),
      responses: {
        200: jsonContent(
          z.union([z.object({ ticket: z.string(), methods: z.array(z.enum(SECOND_FACTOR_METHODS)) }), z.object({ user: UserSchema })]),
          'A ticket for the second step, or the user when a remembered browser stood in for it',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { username, password } = c.req.valid('json');
      const context = requestContext(c);
      const normalized = normalizeUsername(username);
      const found = normalized.length > 0 && normalized.length <= 64 ? await findUserByUsername(deps.db, normalized) : null;
      const user = found?.status === 'active' ? found : null;
      const passwordFactor = user ? await findActivePassword(deps.db, user.id) : null;

      let check = { valid: false, needsRehash: false };
      // No user or no password: the same argon2 work, so the answer takes as long.
      if (passwordFactor?.password_hash) check = await verifyPassword(passwordFactor.password_hash, password);
      else await verifyDummyPassword(password);

      const factors = user ? await listActiveFactors(deps.db, user.id) : [];
      const hasSecondFactor = factors.some((factor) => factor.kind === 'totp' || factor.kind === 'backup_codes');
      const passwordOk = user !== null && passwordFactor !== null && check.valid && hasSecondFactor;

      if (passwordOk) {
        const signedIn = await signInOnRememberedDevice(c, deps, user, passwordFactor.id, password, check.needsRehash);
        if (signedIn) return c.json({ user: publicUser(user) }, 200);
      }
      if (user && passwordFactor) {
        // The owner sees password failures in their audit log; the caller sees nothing of it.
        await recordAudit(deps.db, context, {
          action: 'signin.password',
          outcome: check.valid ? 'success' : 'failure',
          subjectUserId: user.id,
          factorId: passwordFactor.id,
        });
      }

      const ticketData: TicketData = {
        subject: lockoutSubject(deps.keyring, user?.id ?? null, normalized),
        passwordOk,
        passwordFactorId: passwordOk ? passwordFactor.id : null,
        passwordHashTag: passwordOk ? passwordHashTag(deps, passwordFactor.password_hash!) : null,
        rehash: passwordOk && check.needsRehash ? seal(deps.keyring, Buffer.from(password, 'utf8'), rehashContext(user.id)) : null,
      };
      const ticket = await createCeremony(
        deps.db,
        deps.keyring,
        { kind: 'signin_ticket', userId: user?.id ?? null, data: { ...ticketData }, ttlSeconds: TICKET_TTL_SECONDS, maxAttempts: TICKET_MAX_ATTEMPTS },
        context.now,
      );
      return c.json({ ticket, methods: [...SECOND_FACTOR_METHODS] }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/totp',
      tags: ['Sign-in'],
      summary: 'Second step: a code from the authenticator app',
      request: jsonBody(z.object({ ticket: TicketSchema, code: CodeSchema, rememberDevice: z.boolean().optional() })),
      responses: { 200: jsonContent(z.object({ user: UserSchema }), 'Signed in'), ...errorResponses },
    }),
    async (c) => {
      const { ticket, code, rememberDevice: remember } = c.req.valid('json');
      const context = requestContext(c);
      const user = await finishSecondFactor(c, deps, ticket, 'totp', async (trx, user, passwordFactorId) => {
        const totp = await findActiveTotp(trx, user.id);
        if (!totp || !(await useTotpCode(trx, deps.keyring, totp, code, context.now))) return null;
        const proof: SessionProof = { amr: ['pwd', 'otp'], factorIds: [passwordFactorId, totp.id], aal: 2, phishingResistant: false };
        if (remember) {
          const { device, token } = await rememberDevice(trx, deps.keyring, user.id, context.userAgent, context.now);
          await recordAudit(trx, context, { action: 'remembered_device.add', outcome: 'success', actorUserId: user.id, subjectUserId: user.id, details: { deviceId: device.id } });
          setDeviceCookie(c, token);
        }
        return { proof, factorId: totp.id, result: {} };
      });
      return c.json({ user: publicUser(user.user) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/backup-code',
      tags: ['Sign-in'],
      summary: 'Second step with a backup code (a recovery: remembered browsers are forgotten)',
      request: jsonBody(z.object({ ticket: TicketSchema, code: z.string().min(1).max(64) })),
      responses: {
        200: jsonContent(
          z.object({ user: UserSchema, remainingBackupCodes: z.number(), suggestions: z.array(z.enum(['regenerate_backup_codes', 'add_passkey'])) }),
          'Signed in (recovery)',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { ticket, code } = c.req.valid('json');
      const context = requestContext(c);
      const { user, result } = await finishSecondFactor(c, deps, ticket, 'backup_code', async (trx, user, passwordFactorId) => {
        const redeemed = await redeemBackupCode(trx, deps.keyring, user.id, code, context.now);
        if (!redeemed) return null;
        // A recovery means the phone may be in someone else's hands: no browser keeps skipping codes.
        const forgotten = await forgetRememberedDevices(trx, user.id, null, context.now);
        await recordAudit(trx, context, {
          action: 'backup_code.use',
          outcome: 'success',
          actorUserId: user.id,
          subjectUserId: user.id,
          factorId: redeemed.factorId,
          details: { remaining: redeemed.remaining, forgottenDevices: forgotten.length },
        });
        await queueNotification(trx, { userId: user.id, kind: 'backup_code_used', payload: { remaining: redeemed.remaining }, now: context.now });
        const proof: SessionProof = { amr: ['pwd', 'backup_code'], factorIds: [passwordFactorId, redeemed.factorId], aal: 2, phishingResistant: false, recovery: true };
        return { proof, factorId: redeemed.factorId, result: { remaining: redeemed.remaining } };
      });
      return c.json(
        { user: publicUser(user), remainingBackupCodes: result.remaining, suggestions: ['regenerate_backup_codes' as const, 'add_passkey' as const] },
        200,
      );
    },
  );

  return router;
}

/**
 * On a remembered browser a right password signs in: the device token (a 256-bit possession
 * secret issued after a password + TOTP sign-in) stands in for the code. Null when there is no
 * live remembered device for this user here.
 */
async function signInOnRememberedDevice(c: AppContext, deps: AppDeps, user: User, passwordFactorId: string, password: string, needsRehash: boolean): Promise<boolean> {
  const token = readDeviceCookie(c);
  if (!token) return false;
  const context = requestContext(c);
  const device = await findRememberedDevice(deps.db, deps.keyring, user.id, token, context.now);
  if (!device) return false;
  const newHash = needsRehash ? await hashPassword(password) : null;
  await deps.db.transaction().execute(async (trx) => {
    if (newHash) await storePasswordHash(trx, user.id, newHash, context.now);
    await touchRememberedDevice(trx, device.id, context.now);
    await recordAudit(trx, context, {
      action: 'signin.remembered_device',
      outcome: 'success',
      actorUserId: user.id,
      subjectUserId: user.id,
      factorId: passwordFactorId,
      details: { deviceId: device.id, rehashed: newHash !== null },
    });
    await startSession(c, deps, trx, user.id, { amr: ['pwd', 'remembered_device'], factorIds: [passwordFactorId], aal: 2, phishingResistant: false, rememberedDeviceId: device.id });
  });
  return true;
}

type SecondFactorCheck<R> = (
  trx: Transaction<Database>,
  user: User,
  passwordFactorId: string,
) => Promise<{ proof: SessionProof; factorId: string; result: R } | null>;

/**
 * The second step, whatever the factor: spend a ticket attempt (commits on its own), refuse while
 * locked out, then check the code in one transaction with the ticket's consumption, the counters'
 * reset, the legacy re-hash, the audit row and the session. A failure is counted and audited
 * outside that transaction, so rolling the attempt back never erases the count.
 */
async function finishSecondFactor<R>(c: AppContext, deps: AppDeps, ticket: string, method: 'totp' | 'backup_code', check: SecondFactorCheck<R>): Promise<{ user: User; result: R }> {
  const context = requestContext(c);
  const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, ticket, 'signin_ticket', context.now);
  if (!ceremony) throw new LatchError('ticket_invalid');
  const data = ceremony.data as unknown as TicketData;
  await assertNotLockedOut(deps.db, data.subject, context.clientAddress, context.now);

  const user = data.passwordOk && ceremony.user_id ? await findUserById(deps.db, ceremony.user_id) : null;
  let rehashed = false;
  const succeeded = user?.status === 'active' && data.passwordFactorId
    ? await deps.db.transaction().execute(async (trx) => {
        // The password proven in the first step must still be the user's password.
        const password = await findActivePassword(trx, user.id);
        if (password?.id !== data.passwordFactorId || passwordHashTag(deps, password.password_hash!) !== data.passwordHashTag) return null;
        const outcome = await check(trx, user, password.id);
        if (!outcome) return null;
        if (!(await consumeCeremony(trx, deps.keyring, ticket, 'signin_ticket', context.now))) throw new LatchError('ticket_invalid');
        await resetSecondFactorFailures(trx, data.subject, context.clientAddress);
        // Only now, after the code: a re-hash before it would make right passwords answer slower.
        if (data.rehash) {
          await storePasswordHash(trx, user.id, await hashPassword(unseal(deps.keyring, data.rehash, rehashContext(user.id)).toString('utf8')), context.now);
          rehashed = true;
        }
        await recordAudit(trx, context, {
          action: 'signin.second_factor',
          outcome: 'success',
          actorUserId: user.id,
          subjectUserId: user.id,
          factorId: outcome.factorId,
          details: { method, rehashedPassword: rehashed },
        });
        await startSession(c, deps, trx, user.id, outcome.proof);
        return outcome.result;
      })
    : null;
  if (succeeded !== null) return { user: user!, result: succeeded };

  await recordSecondFactorFailureAudited(deps, c, ceremony, data, method);
  throw new LatchError('code_invalid', undefined, { attemptsLeft: Math.max(0, ceremony.max_attempts - ceremony.attempts) });
}

async function recordSecondFactorFailureAudited(deps: AppDeps, c: AppContext, ceremony: Ceremony, data: TicketData, method: 'totp' | 'backup_code') {
  const context = requestContext(c);
  await deps.db.transaction().execute(async (trx) => {
    await recordSecondFactorFailure(trx, data.subject, context.clientAddress, context.now);
    if (ceremony.user_id) {
      await recordAudit(trx, context, { action: 'signin.second_factor', outcome: 'failure', subjectUserId: ceremony.user_id, details: { method } });
    }
  });
}
