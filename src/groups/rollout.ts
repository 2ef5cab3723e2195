import { sql, type Kysely, type Transaction } from 'kysely';
import type { RequestContext } from '../audit/audit.ts';
import type { Database } from '../db/schema.ts';
import { revokeFactor } from '../factors/revocation.ts';
import type { RolloutFacts } from '../policy/rollout.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The facts the rollout decision (src/policy/rollout.ts) reads, in ONE statement inside the
 * sign-in's transaction: the policies of the user's groups (the default group and their
 * memberships), their exemption, whether they have an active passkey, and their last "Not now".
 * Only fallback sign-ins ask: a passkey sign-in never runs this.
 */
export async function loadRolloutFacts(db: Executor, userId: string): Promise<Omit<RolloutFacts, 'method' | 'now'>> {
  const rows = await db
    .selectFrom('groups')
    .select(['groups.rollout_mode', 'groups.passkey_deadline', 'groups.invite_again_after_days'])
    .select((eb) => [
      eb.selectFrom('passkey_exemptions').select('passkey_exemptions.user_id').where('passkey_exemptions.user_id', '=', userId).as('exempt_user'),
      eb.selectFrom('passkey_exemptions').select('passkey_exemptions.expires_at').where('passkey_exemptions.user_id', '=', userId).as('exempt_until'),
      eb
        .exists(eb.selectFrom('factors').select(sql`1`.as('one')).where('factors.user_id', '=', userId).where('factors.kind', '=', 'passkey').where('factors.status', '=', 'active'))
        .as('has_passkey'),
      eb.selectFrom('user_rollout').select('user_rollout.invite_skipped_at').where('user_rollout.user_id', '=', userId).as('skipped_at'),
    ])
    .where((eb) =>
      eb.or([
        eb('groups.is_default', '=', true),
        eb.exists(eb.selectFrom('group_members').select(sql`1`.as('one')).whereRef('group_members.group_id', '=', 'groups.id').where('group_members.user_id', '=', userId)),
      ]),
    )
    .execute();
  const first = rows[0];
  const asDate = (value: Date | string | null | undefined) => (value === null || value === undefined ? null : value instanceof Date ? value : new Date(value));
  return {
    policies: rows.map((row) => ({ mode: row.rollout_mode, deadline: row.passkey_deadline, inviteAgainAfterDays: row.invite_again_after_days })),
    exemption: first?.exempt_user ? { expiresAt: asDate(first.exempt_until) } : null,
    hasPasskey: Boolean(first?.has_passkey),
    lastSkippedAt: asDate(first?.skipped_at),
  };
}

/** Remembers the user's "Not now": the invitation comes back after the group's interval. */
export async function recordInviteSkipped(trx: Transaction<Database>, userId: string, now: Date): Promise<void> {
  await trx
    .insertInto('user_rollout')
    .values({ user_id: userId, invite_skipped_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ invite_skipped_at: now }))
    .execute();
}

/**
 * One more passkey sign-in, counted without a round trip of its own: the caller sends it with
 * the sign-in's other writes (src/audit/deferred-writes.ts).
 */
export function passkeySignInCount(db: Executor, userId: string) {
  return db
    .insertInto('user_rollout')
    .values({ user_id: userId, passkey_sign_ins: 1, invite_skipped_at: null })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ passkey_sign_ins: sql`user_rollout.passkey_sign_ins + 1` }));
}

/**
 * What a passkey sign-in needs to know to retire TOTP, read with the passkey itself (in the one
 * statement src/webauthn/assertion-state.ts sends): the sign-ins counted so far, the smallest
 * threshold among the user's groups (null: none retires TOTP) and the active TOTP factor.
 */
export interface TotpRetirementFacts {
  passkeySignIns: number;
  retireAfter: number | null;
  totpFactorId: string | null;
}

/** Whether this passkey sign-in (the `passkeySignIns + 1`-th) retires the user's TOTP. */
export function totpRetirementDue(facts: TotpRetirementFacts): boolean {
  return facts.retireAfter !== null && facts.totpFactorId !== null && facts.passkeySignIns + 1 >= facts.retireAfter;
}

/**
 * Retires the user's TOTP through the one revocation function: the sessions it made and the
 * remembered browsers go with it (as with any revocation), backup codes stay (they are the way
 * back in if the passkeys are lost), and the user is told with `totp_retired`.
 */
export async function retireTotp(trx: Transaction<Database>, context: RequestContext, input: { userId: string; totpFactorId: string; passkeySignIns: number }) {
  return revokeFactor(trx, context, {
    userId: input.userId,
    factorId: input.totpFactorId,
    actorUserId: null,
    reason: 'retired_after_passkey_sign_ins',
    notifyAs: { kind: 'totp_retired', payload: { passkeySignIns: input.passkeySignIns } },
  });
}
