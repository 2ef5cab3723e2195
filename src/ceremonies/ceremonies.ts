import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { addSeconds } from '../clock.ts';
import { keyedHash, randomToken, type Keyring } from '../crypto/keyring.ts';
import type { Ceremony, CeremonyKind, Database } from '../db/schema.ts';
import { compiledOnceNamed } from '../db/compiled-once.ts';
import { RATE_LIMIT_HIT_VALUES, rateLimitHitValues, rateLimitUpsert, rateLimitVerdict, retryAfterSeconds, type RateLimitHit, type RateLimitHitValues } from '../rate-limits/rate-limits.ts';

type Executor = Kysely<Database> | Transaction<Database>;

const CEREMONY_ID_PURPOSE = 'ceremony';

export interface NewCeremony {
  kind: CeremonyKind;
  userId?: string | null;
  sessionId?: string | null;
  challenge?: string | null;
  data?: Record<string, unknown>;
  ttlSeconds: number;
  /** Attempts allowed before the ceremony is spent (a sign-in ticket allows a few codes). */
  maxAttempts?: number;
}

/**
 * Starts a ceremony and returns the id the client holds. Only a keyed hash of it is stored: a
 * sign-in ticket is a bearer secret, and a database reader must not be able to finish it.
 */
export async function createCeremony(db: Executor, keyring: Keyring, ceremony: NewCeremony, now: Date): Promise<string> {
  const ceremonyId = randomToken();
  await db.insertInto('ceremonies').values(ceremonyRow(keyring, ceremonyId, ceremony, now)).execute();
  return ceremonyId;
}

/**
 * Starts a ceremony only within a rate limit, in ONE statement: the limit's hit (src/rate-limits)
 * and the ceremony's insert, which happens only when the hit was allowed. A refusal writes no
 * ceremony; the hit itself counts (or, on a locked key, changes nothing), as a separate check did.
 */
export async function createCeremonyWithinLimit(
  db: Kysely<Database>,
  keyring: Keyring,
  ceremony: NewCeremony,
  now: Date,
  limit: RateLimitHit,
): Promise<{ ok: true; ceremonyId: string } | { ok: false; retryAfterSeconds: number }> {
  const ceremonyId = randomToken();
  const [result] = await insertCeremonyWithinLimit(db, { ...ceremonyRow(keyring, ceremonyId, ceremony, now), ...rateLimitHitValues(limit, now) });
  if (!result) throw new Error('createCeremonyWithinLimit: the statement returned no row');
  if (result.created) return { ok: true, ceremonyId };
  const verdict = await rateLimitVerdict(db, limit, result.count === null ? null : { count: result.count, locked_until: result.locked_until }, now);
  return { ok: false, retryAfterSeconds: retryAfterSeconds(verdict.state, now) };
}

function ceremonyRow(keyring: Keyring, ceremonyId: string, ceremony: NewCeremony, now: Date) {
  return {
    id_hash: keyedHash(keyring, CEREMONY_ID_PURPOSE, ceremonyId),
    kind: ceremony.kind,
    user_id: ceremony.userId ?? null,
    session_id: ceremony.sessionId ?? null,
    challenge: ceremony.challenge ?? null,
    data: JSON.stringify(ceremony.data ?? {}),
    max_attempts: ceremony.maxAttempts ?? 1,
    created_at: now,
    expires_at: addSeconds(now, ceremony.ttlSeconds),
    consumed_at: null,
  };
}

type CeremonyRow = ReturnType<typeof ceremonyRow>;
/** Every column ceremonyRow fills, named: one it gains and this misses fails to compile. */
const CEREMONY_COLUMNS_BY_NAME: Record<keyof CeremonyRow, true> = {
  id_hash: true,
  kind: true,
  user_id: true,
  session_id: true,
  challenge: true,
  data: true,
  max_attempts: true,
  created_at: true,
  expires_at: true,
  consumed_at: true,
};
const CEREMONY_COLUMNS = Object.keys(CEREMONY_COLUMNS_BY_NAME) as (keyof CeremonyRow)[];

/** createCeremonyWithinLimit's statement, compiled once (every passkey sign-in starts with it). */
const insertCeremonyWithinLimit = compiledOnceNamed<CeremonyRow & RateLimitHitValues, { count: number | null; locked_until: Date | null; created: boolean }>(
  [...CEREMONY_COLUMNS, ...RATE_LIMIT_HIT_VALUES],
  (db, values) =>
    db
      .with('hit', (db) => rateLimitUpsert(db, values))
      .with('created', (db) =>
        db
          .insertInto('ceremonies')
          .columns(CEREMONY_COLUMNS)
          .expression(
            db
              .selectNoFrom((eb) => CEREMONY_COLUMNS.map((column) => eb.val(values[column]).as(column)))
              .where((eb) => eb.exists(eb.selectFrom('hit').select('hit.count').where('hit.count', '<=', values.limit))),
          )
          .returning('kind'),
      )
      .selectNoFrom((eb) => [
        eb.selectFrom('hit').select('hit.count').as('count'),
        eb.selectFrom('hit').select('hit.locked_until').as('locked_until'),
        eb.exists(eb.selectFrom('created').select('created.kind')).as('created'),
      ]),
);

/**
 * Consumes a live ceremony of the expected kind exactly once. The conditional UPDATE makes
 * concurrent consumers race inside the database: one gets the row, the others get null.
 */
export async function consumeCeremony(
  db: Executor,
  keyring: Keyring,
  ceremonyId: string,
  kind: CeremonyKind,
  now: Date,
): Promise<Ceremony | null> {
  const consumed = await db
    .updateTable('ceremonies')
    .set({ consumed_at: now })
    .where((eb) => isLiveCeremony(eb, keyring, ceremonyId, kind, now))
    .returningAll()
    .executeTakeFirst();
  return consumed ?? null;
}

/**
 * Spends one attempt of a multi-attempt ceremony (a sign-in ticket) without consuming it. Returns
 * null when it is unknown, expired, consumed, or out of attempts — again decided by one UPDATE.
 */
export async function spendCeremonyAttempt(
  db: Executor,
  keyring: Keyring,
  ceremonyId: string,
  kind: CeremonyKind,
  now: Date,
): Promise<Ceremony | null> {
  const spent = await db
    .updateTable('ceremonies')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where((eb) => eb.and([isLiveCeremony(eb, keyring, ceremonyId, kind, now), eb('attempts', '<', eb.ref('max_attempts'))]))
    .returningAll()
    .executeTakeFirst();
  return spent ?? null;
}

/**
 * Gives back an attempt spent on a try that was refused before anything was checked (a locked-out
 * second factor): the lock, not the ticket, is what the user waits out.
 */
export async function refundCeremonyAttempt(db: Executor, keyring: Keyring, ceremonyId: string, kind: CeremonyKind, now: Date): Promise<void> {
  await db
    .updateTable('ceremonies')
    .set((eb) => ({ attempts: eb('attempts', '-', 1) }))
    .where((eb) => eb.and([isLiveCeremony(eb, keyring, ceremonyId, kind, now), eb('attempts', '>', 0)]))
    .execute();
}

/** What the database stores for a ceremony id: its keyed hash. */
export function ceremonyIdHash(keyring: Keyring, ceremonyId: string): string {
  return keyedHash(keyring, CEREMONY_ID_PURPOSE, ceremonyId);
}

/** The ceremony with this id and kind, not yet consumed and not expired. */
function isLiveCeremony(eb: ExpressionBuilder<Database, 'ceremonies'>, keyring: Keyring, ceremonyId: string, kind: CeremonyKind, now: Date) {
  return eb.and([
    eb('id_hash', '=', keyedHash(keyring, CEREMONY_ID_PURPOSE, ceremonyId)),
    eb('kind', '=', kind),
    eb('consumed_at', 'is', null),
    eb('expires_at', '>', now),
  ]);
}

/** Expired and consumed ceremonies are worthless; a periodic sweep keeps the table small. */
export async function deleteStaleCeremonies(db: Executor, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('ceremonies')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('consumed_at', 'is not', null)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Ceremonies the client holds no id for (an email confirmation: the user brings only the mailed
 * code): found by user and kind. At most one is live per user and kind — starting a new one
 * cancels the others with this.
 */
export async function cancelCeremoniesOfUser(db: Executor, userId: string, kind: CeremonyKind, now: Date): Promise<number> {
  const result = await db
    .updateTable('ceremonies')
    .set({ consumed_at: now })
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Spends one attempt of the user's live ceremony of this kind (see cancelCeremoniesOfUser), in
 * one UPDATE: null when there is none, or it expired, or its attempts are used up.
 */
export async function spendUserCeremonyAttempt(db: Executor, userId: string, kind: CeremonyKind, now: Date): Promise<Ceremony | null> {
  const spent = await db
    .updateTable('ceremonies')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .where((eb) => eb('attempts', '<', eb.ref('max_attempts')))
    .returningAll()
    .executeTakeFirst();
  return spent ?? null;
}

/** Consumes a ceremony row found another way than by its id (as above), once: null when another request already did. */
export async function consumeCeremonyRow(db: Executor, ceremony: Pick<Ceremony, 'id_hash'>, now: Date): Promise<Ceremony | null> {
  const consumed = await db
    .updateTable('ceremonies')
    .set({ consumed_at: now })
    .where('id_hash', '=', ceremony.id_hash)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
  return consumed ?? null;
}
