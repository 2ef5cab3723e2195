import { sql, type Kysely, type Transaction } from 'kysely';
import { ceremonyIdHash } from '../ceremonies/ceremonies.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Ceremony, CeremonyKind, Database, Factor, User } from '../db/schema.ts';
import type { TotpRetirementFacts } from '../groups/rollout.ts';
import { compiledOnceNamed } from '../db/compiled-once.ts';
import { RATE_LIMIT_HIT_VALUES, rateLimitHitValues, rateLimitUpsert, type RateLimitHit, type RateLimitHitRow, type RateLimitHitValues } from '../rate-limits/rate-limits.ts';

export interface AssertionState {
  /** The ceremony, consumed by this statement; null when unknown, expired, used, or of another kind. */
  ceremony: Ceremony | null;
  /** The passkey with the asserted credential id, whatever its status, locked until the commit. */
  factor: Factor | null;
  /** Its owner. */
  user: User | null;
  /** A sign-in only: what TOTP retirement needs (src/groups/rollout.ts), read in the same statement. */
  retirement: TotpRetirementFacts | null;
  /** Given a limit: what its hit returned (null: the key was locked). The ceremony is consumed only within the limit. */
  rateLimit: { row: RateLimitHitRow | null } | null;
}

/**
 * Everything the second half of a passkey ceremony reads, in ONE statement (one round trip where
 * there were three): the ceremony is consumed (a conditional DELETE: of concurrent finishers, one
 * gets it; deleting costs no new row version and no index entries, where marking it consumed
 * cost both, and a used passkey ceremony has nothing left to tell), the passkey row is read and locked FOR UPDATE (concurrent uses of one passkey
 * queue on its counter), and its owner is read. Each comes back as a row image (to_jsonb) so the
 * three tables' columns cannot collide; `rowFromJson` turns the images back into the rows Kysely
 * would have returned.
 */
export async function consumeCeremonyAndLoadPasskey(
  /** In a transaction the passkey row stays locked until the commit; on its own the statement commits at once. */
  trx: Kysely<Database> | Transaction<Database>,
  keyring: Keyring,
  input: { ceremonyId: string; kind: CeremonyKind; credentialId: string; limit?: RateLimitHit },
  now: Date,
): Promise<AssertionState> {
  const limit = input.limit;
  const values = { idHash: ceremonyIdHash(keyring, input.ceremonyId), kind: input.kind, credentialId: input.credentialId, now };
  const statement = assertionStatement(input.kind === 'passkey_signin', limit !== undefined);
  const [row] = await statement(trx, limit ? { ...values, ...rateLimitHitValues(limit, now) } : values);
  return {
    ceremony: rowFromJson<Ceremony>(row?.ceremony ?? null),
    factor: rowFromJson<Factor>(row?.factor ?? null),
    user: rowFromJson<User>(row?.owner ?? null),
    retirement: typeof row?.retirement === 'string' ? (JSON.parse(row.retirement) as TotpRetirementFacts) : (row?.retirement ?? null),
    rateLimit: limit ? { row: hitRow(row?.hit ?? null) } : null,
  };
}

interface AssertionStateValues {
  idHash: string;
  kind: CeremonyKind;
  credentialId: string;
  now: Date;
}

interface AssertionStateRow {
  ceremony: Record<string, unknown> | null;
  factor: Record<string, unknown> | null;
  owner: Record<string, unknown> | null;
  retirement: TotpRetirementFacts | string | null;
  hit: { count: number; locked_until: string | null } | string | null;
}

type AssertionStatement = (db: Kysely<Database> | Transaction<Database>, values: AssertionStateValues & Partial<RateLimitHitValues>) => Promise<AssertionStateRow[]>;

/** The statement's four shapes (a sign-in or not, with a rate limit or not), each compiled once. */
const assertionStatements = new Map<string, AssertionStatement>();

function assertionStatement(signIn: boolean, limited: boolean): AssertionStatement {
  const shape = `${signIn}:${limited}`;
  let statement = assertionStatements.get(shape);
  if (!statement) {
    statement = compiledOnceNamed<AssertionStateValues & RateLimitHitValues, AssertionStateRow>(
      ['idHash', 'kind', 'credentialId', 'now', ...(limited ? RATE_LIMIT_HIT_VALUES : [])],
      (db, values) => assertionStateQuery(db, values, signIn, limited),
    ) as AssertionStatement;
    assertionStatements.set(shape, statement);
  }
  return statement;
}

function assertionStateQuery(db: Kysely<Database> | Transaction<Database>, values: AssertionStateValues & RateLimitHitValues, signIn: boolean, limited: boolean) {
  // The request's rate limit rides along too: its hit is a CTE, and a refused hit leaves the ceremony unconsumed.
  const hit = limited ? sql`hit as (${rateLimitUpsert(db, values)}),` : sql``;
  const withinLimit = limited ? sql`and exists (select 1 from hit where hit.count <= ${values.limit})` : sql``;
  // TOTP retirement's facts ride along on a sign-in (never a step-up): three indexed lookups in the
  // statement that runs anyway, so the passkey sign-in keeps its round trips.
  const retirement = signIn
    ? sql`(select jsonb_build_object(
          'passkeySignIns', coalesce((select passkey_sign_ins from user_rollout where user_rollout.user_id = (select user_id from passkey)), 0),
          'retireAfter', (select min(g.retire_totp_after_passkey_sign_ins) from groups g
            where g.is_default or exists (select 1 from group_members m where m.group_id = g.id and m.user_id = (select user_id from passkey))),
          'totpFactorId', (select f.id from factors f where f.user_id = (select user_id from passkey) and f.kind = 'totp' and f.status = 'active' limit 1)))`
    : sql`null`;
  return sql<AssertionStateRow>`
    with ${hit} consumed as (
      delete from ceremonies
      where id_hash = ${values.idHash} and kind = ${values.kind} and consumed_at is null and expires_at > ${values.now} ${withinLimit}
      returning *
    ), passkey as (
      select * from factors where kind = 'passkey' and credential_id = ${values.credentialId} for update
    )
    select
      (select to_jsonb(consumed) from consumed) as ceremony,
      (select to_jsonb(passkey) from passkey) as factor,
      (select to_jsonb(users) from users where users.id = (select user_id from passkey)) as owner,
      ${retirement} as retirement,
      ${limited ? sql`(select jsonb_build_object('count', hit.count, 'locked_until', hit.locked_until) from hit)` : sql`null`} as hit`;
}

function hitRow(image: { count: number; locked_until: string | null } | string | null): RateLimitHitRow | null {
  if (image === null) return null;
  const object = typeof image === 'string' ? (JSON.parse(image) as { count: number; locked_until: string | null }) : image;
  return { count: object.count, locked_until: object.locked_until === null ? null : new Date(object.locked_until) };
}

/**
 * A row image from to_jsonb, typed as the driver types the row: timestamps (every column named
 * `…_at`) become Dates, bytea (`public_key`, `\x…` in JSON) bytes; numbers, booleans, arrays and
 * jsonb come through as they are.
 */
export function rowFromJson<T>(image: Record<string, unknown> | string | null): T | null {
  if (image === null) return null;
  const object = typeof image === 'string' ? (JSON.parse(image) as Record<string, unknown>) : image;
  const row: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(object)) {
    if (typeof value === 'string' && column.endsWith('_at')) row[column] = new Date(value);
    else if (typeof value === 'string' && column === 'public_key' && value.startsWith('\\x')) row[column] = new Uint8Array(Buffer.from(value.slice(2), 'hex'));
    else row[column] = value;
  }
  return row as T;
}
