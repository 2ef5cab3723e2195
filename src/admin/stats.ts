import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { FACTOR_STATES, factorStateSql, type FactorState } from './users.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Passkey adoption figures as they exist now, for the organization and per group: active users by
 * factor state (passkey only, passkey + authenticator app, app only, neither) and how many of them
 * hold unused backup codes. Disabled accounts are not counted.
 */
export interface AdoptionCounts {
  users: number;
  passkeyOnly: number;
  passkeyAndTotp: number;
  totpOnly: number;
  noSecondFactor: number;
  withUnusedBackupCodes: number;
}

export interface AdoptionStats {
  organization: AdoptionCounts;
  groups: Array<{ id: string; name: string; isDefault: boolean; counts: AdoptionCounts }>;
}

const KEY_OF: Record<FactorState, keyof AdoptionCounts> = {
  passkey_only: 'passkeyOnly',
  passkey_and_totp: 'passkeyAndTotp',
  totp_only: 'totpOnly',
  none: 'noSecondFactor',
};

function emptyCounts(): AdoptionCounts {
  return { users: 0, passkeyOnly: 0, passkeyAndTotp: 0, totpOnly: 0, noSecondFactor: 0, withUnusedBackupCodes: 0 };
}

export async function adoptionStats(db: Executor): Promise<AdoptionStats> {
  const unusedBackupCodes = sql<boolean>`exists (
    select 1 from factors f join backup_codes b on b.factor_id = f.id
    where f.user_id = users.id and f.kind = 'backup_codes' and f.status = 'active' and b.used_at is null)`;
  const perUser = db
    .selectFrom('users')
    .select(['users.id'])
    .select(factorStateSql().as('state'))
    .select(unusedBackupCodes.as('unused_backup'))
    .where('users.status', '=', 'active');
  const rows = await db
    .with('u', () => perUser)
    .selectFrom('u')
    .innerJoin('group_members', 'group_members.user_id', 'u.id')
    .select(['group_members.group_id', 'u.state'])
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.countAll<number>().filterWhere('u.unused_backup', '=', true).as('backup')])
    .groupBy(['group_members.group_id', 'u.state'])
    .execute();
  const groups = await db.selectFrom('groups').select(['id', 'name', 'is_default']).orderBy('is_default', 'desc').orderBy('name', 'asc').execute();

  const organization = emptyCounts();
  const byGroup = new Map(groups.map((group) => [group.id, emptyCounts()]));
  const add = (counts: AdoptionCounts, state: FactorState, n: number, backup: number) => {
    counts.users += n;
    counts[KEY_OF[state]] += n;
    counts.withUnusedBackupCodes += backup;
  };
  // One row per membership feeds the groups; a user in two groups counts in both, and once in
  // the organization's figures, which come from their own query.
  for (const row of rows) add(byGroup.get(row.group_id)!, row.state, Number(row.n), Number(row.backup));
  const totals = await db
    .with('u', () => perUser)
    .selectFrom('u')
    .select(['u.state'])
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.countAll<number>().filterWhere('u.unused_backup', '=', true).as('backup')])
    .groupBy('u.state')
    .execute();
  for (const row of totals) add(organization, row.state, Number(row.n), Number(row.backup));

  return {
    organization,
    // Everyone is in the default group: its figures are the organization's.
    groups: groups.map((group) => ({ id: group.id, name: group.name, isDefault: group.is_default, counts: group.is_default ? organization : byGroup.get(group.id)! })),
  };
}

export { FACTOR_STATES };
