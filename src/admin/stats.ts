import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { FACTOR_STATES, type FactorState } from './users.ts';

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

/**
 * Each active user's factor state and whether they hold unused backup codes, set-based (one pass
 * over factors grouped by user, hash-joined to users) so it stays fast at 100,000 users; the
 * same classification as factorStateSql (users.ts), which the per-user search uses. Both parts
 * read partial indexes only (migration 2026-11-28T02-factor-state-indexes): the active passkeys
 * and apps, and a semi-join on the unused codes (a user holds one set at most: no distinct).
 */
export function activeUserStatesSql() {
  return sql`
    with kinds as (
      select user_id, bool_or(kind = 'passkey') as passkey, bool_or(kind = 'totp') as totp
      from factors where status = 'active' and kind in ('passkey', 'totp') group by user_id
    ),
    backup as (
      select f.user_id from factors f
      where f.kind = 'backup_codes' and f.status = 'active'
        and exists (select 1 from backup_codes b where b.factor_id = f.id and b.used_at is null)
    ),
    states as (
      select users.id as user_id,
        case when kinds.passkey and kinds.totp then 'passkey_and_totp' when kinds.passkey then 'passkey_only'
          when kinds.totp then 'totp_only' else 'none' end as state,
        backup.user_id is not null as unused_backup
      from users left join kinds on kinds.user_id = users.id left join backup on backup.user_id = users.id
      where users.status = 'active'
    )`;
}

export async function adoptionStats(db: Executor): Promise<AdoptionStats> {
  // One row per (group, state) from the memberships, and one per state for everyone (group null).
  const rows = await sql<{ group_id: string | null; state: FactorState; n: string; backup: string }>`
    ${activeUserStatesSql()}
    select null as group_id, state, count(*) as n, count(*) filter (where unused_backup) as backup from states group by state
    union all
    select m.group_id, s.state, count(*), count(*) filter (where s.unused_backup)
    from states s join group_members m on m.user_id = s.user_id group by m.group_id, s.state`.execute(db);
  const groups = await db.selectFrom('groups').select(['id', 'name', 'is_default']).orderBy('is_default', 'desc').orderBy('name', 'asc').execute();

  const organization = emptyCounts();
  const byGroup = new Map(groups.map((group) => [group.id, emptyCounts()]));
  const add = (counts: AdoptionCounts, state: FactorState, n: number, backup: number) => {
    counts.users += n;
    counts[KEY_OF[state]] += n;
    counts.withUnusedBackupCodes += backup;
  };
  // A user in two groups counts in both, and once in the organization's figures.
  for (const row of rows.rows) {
    const counts = row.group_id === null ? organization : byGroup.get(row.group_id);
    if (counts) add(counts, row.state, Number(row.n), Number(row.backup));
  }

  return {
    organization,
    // Everyone is in the default group: its figures are the organization's.
    groups: groups.map((group) => ({ id: group.id, name: group.name, isDefault: group.is_default, counts: group.is_default ? organization : byGroup.get(group.id)! })),
  };
}

export { FACTOR_STATES };
