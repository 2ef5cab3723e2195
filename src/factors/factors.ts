import type { Kysely, Transaction } from 'kysely';
import type { Database, Factor, FactorKind } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** The factors table: the shared part of every kind. Kind modules (passkey.ts, totp.ts …) add their columns. */

export async function listActiveFactors(db: Executor, userId: string): Promise<Factor[]> {
  return db
    .selectFrom('factors')
    .selectAll()
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .orderBy('created_at', 'asc')
    .execute();
}

export async function findFactorForUser(db: Executor, userId: string, factorId: string): Promise<Factor | null> {
  const factor = await db
    .selectFrom('factors')
    .selectAll()
    .where('id', '=', factorId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return factor ?? null;
}

/**
 * Whether these factors still let the user sign in on their own: a passkey, or a password with a
 * second factor (TOTP or backup codes). A recovery path counts: losing it is what lockout means.
 */
export function canSignIn(factors: readonly Pick<Factor, 'kind' | 'status'>[]): boolean {
  const kinds = new Set(factors.filter((factor) => factor.status === 'active').map((factor) => factor.kind));
  return kinds.has('passkey') || (kinds.has('password') && (kinds.has('totp') || kinds.has('backup_codes')));
}

export function activeKinds(factors: readonly Pick<Factor, 'kind' | 'status'>[]): FactorKind[] {
  return [...new Set(factors.filter((factor) => factor.status === 'active').map((factor) => factor.kind))];
}

export async function touchFactor(db: Executor, factorId: string, now: Date): Promise<void> {
  await db.updateTable('factors').set({ last_used_at: now }).where('id', '=', factorId).execute();
}

export async function renameFactor(db: Executor, userId: string, factorId: string, label: string): Promise<Factor | null> {
  const factor = await db
    .updateTable('factors')
    .set({ label })
    .where('id', '=', factorId)
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirst();
  return factor ?? null;
}

/** The shared fields every factor shows in `GET /api/factors`; kind modules add their details. */
export function publicFactorBase(factor: Factor) {
  return {
    id: factor.id,
    kind: factor.kind,
    label: factor.label,
    status: factor.status,
    createdAt: factor.created_at.toISOString(),
    lastUsedAt: factor.last_used_at?.toISOString() ?? null,
  };
}

/** The user's one active factor of a kind that has at most one (password, totp, backup_codes). */
export async function findActiveFactorOfKind(db: Executor, userId: string, kind: Exclude<FactorKind, 'passkey'>): Promise<Factor | null> {
  const factor = await db
    .selectFrom('factors')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return factor ?? null;
}
