import { sql, type Kysely, type Transaction } from 'kysely';
import { signInsPerDayBetween } from '../audit/sign-ins-per-day.ts';
import type { Database, RolloutMode } from '../db/schema.ts';
import { adoptionStats, type AdoptionCounts } from './stats.ts';
import type { FactorState } from './users.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The adoption dashboard (`GET /api/admin/adoption`, the /admin page, `latch stats`): the figures
 * of stats.ts (users by factor state, per group) plus what steers a rollout — sign-ins by method
 * per day, each group's deadline and who in it is still on an authenticator app only, the
 * exemptions in force, and passkey adoption over time from the factor history.
 *
 * Days are UTC calendar days. Every query here reads a rollup (sign-ins per day, migration
 * 2026-11-28T01-sign-ins-per-day), is bounded by an index (each user's last sign-in, migration
 * 2026-11-27T21-adoption-dashboard) or is a single pass over factors.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
export const SIGN_IN_DAYS = 30;
export const ADOPTION_DAYS_DEFAULT = 90;
/** How many TOTP-only users a group lists (the total is always given; the CSV has everyone). */
export const TOTP_ONLY_LIST_LIMIT = 50;
export const EXEMPTIONS_LIST_LIMIT = 200;

export function startOfUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

function dayKey(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The `days` UTC days ending with the day of `now`, oldest first, as YYYY-MM-DD. */
export function lastDays(now: Date, days: number): string[] {
  const today = startOfUtcDay(now).getTime();
  return Array.from({ length: days }, (_, index) => dayKey(new Date(today - (days - 1 - index) * DAY_MS)));
}

export interface SignInsByDay {
  /** The sign-in methods seen in the window, sorted (passkey, password_totp, …). */
  methods: string[];
  /** One entry per day, oldest first; every method of `methods` has a count (0 when none). */
  days: Array<{ day: string; total: number; byMethod: Record<string, number> }>;
  totals: Record<string, number>;
}

/**
 * Sign-ins (audit `session.create`, its details.method) per UTC day for the last `days` days,
 * today included. Read from the rollup the sign-in keeps (src/audit/sign-ins-per-day.ts): a few
 * rows per day and method, never the audit log itself.
 */
export async function signInsByDay(db: Executor, now: Date, days = SIGN_IN_DAYS): Promise<SignInsByDay> {
  const keys = lastDays(now, days);
  const rows = await signInsPerDayBetween(db, keys[0]!, keys.at(-1)!);
  const methods = [...new Set(rows.map((row) => row.method))].sort();
  const byDay = new Map(keys.map((day) => [day, Object.fromEntries(methods.map((method) => [method, 0])) as Record<string, number>]));
  const totals = Object.fromEntries(methods.map((method) => [method, 0])) as Record<string, number>;
  for (const row of rows) {
    const counts = byDay.get(row.day);
    if (!counts) continue;
    const method = row.method;
    counts[method] = (counts[method] ?? 0) + row.n;
    totals[method] = (totals[method] ?? 0) + row.n;
  }
  return {
    methods,
    days: keys.map((day) => {
      const byMethod = byDay.get(day)!;
      return { day, total: Object.values(byMethod).reduce((sum, n) => sum + n, 0), byMethod };
    }),
    totals,
  };
}

export interface AdoptionPoint {
  day: string;
  /** Users holding at least one passkey at the end of that day (now, for today). */
  usersWithPasskey: number;
}

/**
 * Passkey adoption over time from the factor history: how many users held a passkey at the end of
 * each of the last `days` UTC days. A user's passkeys (created_at to revoked_at) are merged into
 * periods first, so a second passkey or a replacement does not count them twice and a gap with no
 * passkey does. One pass over passkey factors (sorted per user), then per-day starts and ends.
 * Disabled accounts are counted as their factors were (the history does not change with status).
 */
export async function passkeyAdoptionSeries(db: Executor, now: Date, days = ADOPTION_DAYS_DEFAULT): Promise<AdoptionPoint[]> {
  const keys = lastDays(now, days);
  // The state at the end of the day before the window; then each day's starts and ends.
  const windowStart = new Date(`${keys[0]}T00:00:00.000Z`);
  const periods = sql`
    with passkeys as (
      select user_id, created_at as s,
        case when status = 'revoked' then coalesce(revoked_at, created_at) else revoked_at end as e
      from factors
      where kind = 'passkey' and status <> 'pending' and created_at <= ${now}
    ),
    ordered as (
      select user_id, s, e,
        -- the furthest end among this user's earlier passkeys (null end: still active)
        bool_or(e is null) over w as open_before,
        max(e) over w as end_before
      from passkeys
      window w as (partition by user_id order by s, e nulls last rows between unbounded preceding and 1 preceding)
    ),
    marked as (
      select user_id, s, e,
        sum(case when open_before is null or (not open_before and s > end_before) then 1 else 0 end)
          over (partition by user_id order by s, e nulls last rows unbounded preceding) as period
      from ordered
    ),
    periods as (
      select user_id, min(s) as s, case when bool_or(e is null) then null else max(e) end as e
      from marked group by user_id, period
    )`;
  const result = await sql<{ kind: 'base' | 'start' | 'end'; day: string | null; n: string }>`
    ${periods}
    select 'base' as kind, null as day, count(*) as n from periods
      where s < ${windowStart} and (e is null or e >= ${windowStart})
    union all
    select 'start', to_char(s at time zone 'UTC', 'YYYY-MM-DD'), count(*) from periods
      where s >= ${windowStart} group by 2
    union all
    select 'end', to_char(e at time zone 'UTC', 'YYYY-MM-DD'), count(*) from periods
      where e is not null and e >= ${windowStart} and e <= ${now} group by 2`.execute(db);
  let current = 0;
  const delta = new Map<string, number>();
  for (const row of result.rows) {
    const n = Number(row.n);
    if (row.kind === 'base') current = n;
    else delta.set(row.day!, (delta.get(row.day!) ?? 0) + (row.kind === 'start' ? n : -n));
  }
  return keys.map((day) => {
    current += delta.get(day) ?? 0;
    return { day, usersWithPasskey: current };
  });
}

export interface TotpOnlyUser {
  id: string;
  username: string;
  displayName: string;
  lastSignInAt: string | null;
}

export interface GroupAdoption {
  id: string;
  name: string;
  isDefault: boolean;
  counts: AdoptionCounts;
  mode: RolloutMode;
  deadline: string | null;
  /** Whole days until the deadline (rounded up; 0 on its day, negative once passed); null without one. */
  daysLeft: number | null;
  totpOnly: { total: number; users: TotpOnlyUser[] };
}

export interface ExemptionRow {
  userId: string;
  username: string;
  reason: string;
  until: string | null;
  grantedBy: string | null;
  createdAt: string;
}

export interface AdoptionDashboard {
  generatedAt: string;
  organization: AdoptionCounts;
  groups: GroupAdoption[];
  signIns: SignInsByDay;
  adoptionOverTime: AdoptionPoint[];
  exemptions: { total: number; items: ExemptionRow[] };
}

export function daysLeft(deadline: Date | null, now: Date): number | null {
  if (!deadline) return null;
  return Math.ceil((deadline.getTime() - now.getTime()) / DAY_MS);
}

/** The time of each user's last successful sign-in, from the audit log (one index probe per user). */
export function lastSignInSql() {
  // No outcome filter: session.create is only ever written on success (complete-sign-in.ts), and
  // without one the partial index audit_events_user_sign_ins_idx answers alone (max = its last entry).
  return sql<Date | null>`(select max(a.occurred_at) from audit_events a
    where a.subject_user_id = users.id and a.action = 'session.create')`;
}

/**
 * For every group at once: how many active users are still on an authenticator app only (a TOTP
 * factor, no passkey), and the first `limit` of them by username with their last sign-in. The
 * default group holds everyone. Set-based (an anti-join, then a window per group), so eleven
 * groups cost one pass over factors, not eleven.
 */
export async function totpOnlyByGroup(db: Executor, limit = TOTP_ONLY_LIST_LIMIT): Promise<Map<string, { total: number; users: TotpOnlyUser[] }>> {
  const result = await sql<{ group_id: string; total: string; id: string | null; username: string | null; display_name: string | null; last_sign_in_at: Date | null }>`
    with totp_only as (
      select u.id, u.username, u.display_name from users u
      where u.status = 'active'
        and exists (select 1 from factors t where t.user_id = u.id and t.kind = 'totp' and t.status = 'active')
        and not exists (select 1 from factors p where p.user_id = u.id and p.kind = 'passkey' and p.status = 'active')
    ),
    memberships as (
      select g.id as group_id, o.id, o.username, o.display_name from groups g join totp_only o on g.is_default
      union all
      select m.group_id, o.id, o.username, o.display_name from group_members m join totp_only o on o.id = m.user_id
    ),
    ranked as (
      select group_id, id, username, display_name,
        row_number() over (partition by group_id order by username) as position,
        count(*) over (partition by group_id) as total
      from memberships
    )
    select r.group_id, r.total, r.id, r.username, r.display_name,
      (select max(a.occurred_at) from audit_events a where a.subject_user_id = r.id and a.action = 'session.create') as last_sign_in_at
    from ranked r where r.position <= ${limit}
    order by r.group_id, r.username`.execute(db);
  const byGroup = new Map<string, { total: number; users: TotpOnlyUser[] }>();
  for (const row of result.rows) {
    let entry = byGroup.get(row.group_id);
    if (!entry) byGroup.set(row.group_id, (entry = { total: Number(row.total), users: [] }));
    entry.users.push({ id: row.id!, username: row.username!, displayName: row.display_name!, lastSignInAt: row.last_sign_in_at ? new Date(row.last_sign_in_at).toISOString() : null });
  }
  return byGroup;
}

/** Exemptions in force now (an end in the future or none), soonest to end first. */
export async function exemptionsInForce(db: Executor, now: Date, limit = EXEMPTIONS_LIST_LIMIT): Promise<{ total: number; items: ExemptionRow[] }> {
  const base = db
    .selectFrom('passkey_exemptions')
    .innerJoin('users', 'users.id', 'passkey_exemptions.user_id')
    .where((eb) => eb.or([eb('passkey_exemptions.expires_at', 'is', null), eb('passkey_exemptions.expires_at', '>', now)]));
  const total = await base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const rows = await base
    .select(['users.id', 'users.username', 'passkey_exemptions.reason', 'passkey_exemptions.expires_at', 'passkey_exemptions.granted_by', 'passkey_exemptions.created_at'])
    .orderBy(sql`passkey_exemptions.expires_at asc nulls last`)
    .orderBy('users.username', 'asc')
    .limit(limit)
    .execute();
  return {
    total: Number(total.n),
    items: rows.map((row) => ({
      userId: row.id,
      username: row.username,
      reason: row.reason,
      until: row.expires_at?.toISOString() ?? null,
      grantedBy: row.granted_by,
      createdAt: row.created_at.toISOString(),
    })),
  };
}

/** Everything the dashboard shows, as of `now`. */
export async function adoptionDashboard(db: Executor, now: Date, options: { adoptionDays?: number } = {}): Promise<AdoptionDashboard> {
  // One after another: inside a transaction they share one connection anyway.
  const stats = await adoptionStats(db);
  const policies = new Map((await db.selectFrom('groups').select(['id', 'rollout_mode', 'passkey_deadline']).execute()).map((group) => [group.id, group]));
  const totpOnly = await totpOnlyByGroup(db);
  const groups: GroupAdoption[] = [];
  for (const group of stats.groups) {
    const policy = policies.get(group.id)!;
    groups.push({
      id: group.id,
      name: group.name,
      isDefault: group.isDefault,
      counts: group.counts,
      mode: policy.rollout_mode,
      deadline: policy.passkey_deadline?.toISOString() ?? null,
      daysLeft: daysLeft(policy.passkey_deadline, now),
      totpOnly: totpOnly.get(group.id) ?? { total: 0, users: [] },
    });
  }
  return {
    generatedAt: now.toISOString(),
    organization: stats.organization,
    groups,
    signIns: await signInsByDay(db, now),
    adoptionOverTime: await passkeyAdoptionSeries(db, now, options.adoptionDays ?? ADOPTION_DAYS_DEFAULT),
    exemptions: await exemptionsInForce(db, now),
  };
}

export interface UserExportRow {
  username: string;
  displayName: string;
  status: 'active' | 'disabled';
  groups: string[];
  factorState: FactorState;
  passkeys: number;
  hasTotp: boolean;
  unusedBackupCodes: number;
  lastSignInAt: string | null;
}

/**
 * One page of the user list for the CSV export, by username (keyset: `after` is the last
 * username of the previous page). What a factor is, never a secret: counts and booleans only.
 */
export async function exportUsersPage(db: Executor, options: { limit: number; after: string | null }): Promise<{ rows: UserExportRow[]; nextAfter: string | null }> {
  // The page of users first (keyset on the username index), then each figure for just those users
  // by index lookups. `status <> 'revoked'` repeats what 'active' implies so the planner can use
  // the partial index factors_user_id_idx (it cannot prove the implication itself).
  const after = options.after === null ? sql`` : sql`where username > ${options.after}`;
  const result = await sql<{
    username: string;
    display_name: string;
    status: 'active' | 'disabled';
    passkeys: string;
    has_totp: boolean;
    unused_backup_codes: string;
    groups: string[] | null;
    last_sign_in_at: Date | null;
  }>`
    with page as (
      select id, username, display_name, status from users ${after} order by username limit ${options.limit + 1}
    )
    select page.username, page.display_name, page.status,
      (select count(*) from factors f where f.user_id = page.id and f.kind = 'passkey' and f.status <> 'revoked' and f.status = 'active') as passkeys,
      exists (select 1 from factors f where f.user_id = page.id and f.kind = 'totp' and f.status = 'active') as has_totp,
      (select count(*) from factors f join backup_codes c on c.factor_id = f.id
        where f.user_id = page.id and f.kind = 'backup_codes' and f.status = 'active' and c.used_at is null) as unused_backup_codes,
      (select array_agg(g.name order by g.name) from group_members m join groups g on g.id = m.group_id where m.user_id = page.id) as groups,
      (select max(a.occurred_at) from audit_events a where a.subject_user_id = page.id and a.action = 'session.create') as last_sign_in_at
    from page
    order by page.username`.execute(db);
  const rows = result.rows;
  const page = rows.slice(0, options.limit);
  return {
    rows: page.map((row) => {
      const passkeys = Number(row.passkeys);
      const factorState: FactorState = passkeys > 0 ? (row.has_totp ? 'passkey_and_totp' : 'passkey_only') : row.has_totp ? 'totp_only' : 'none';
      return {
        username: row.username,
        displayName: row.display_name,
        status: row.status,
        groups: row.groups ?? [],
        factorState,
        passkeys,
        hasTotp: row.has_totp,
        unusedBackupCodes: Number(row.unused_backup_codes),
        lastSignInAt: row.last_sign_in_at ? new Date(row.last_sign_in_at).toISOString() : null,
      };
    }),
    nextAfter: rows.length > options.limit ? page.at(-1)!.username : null,
  };
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled. A
 * cell a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return)
 * is prefixed with ' so it stays text (OWASP's CSV injection advice).
 */
export function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: Array<string | number | boolean | null>): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export const USER_EXPORT_HEADER = ['username', 'display_name', 'status', 'groups', 'factor_state', 'passkeys', 'has_totp', 'unused_backup_codes', 'last_sign_in'];

export function userExportLine(row: UserExportRow): string {
  return csvLine([row.username, row.displayName, row.status, row.groups.join(';'), row.factorState, row.passkeys, row.hasTotp, row.unusedBackupCodes, row.lastSignInAt]);
}
