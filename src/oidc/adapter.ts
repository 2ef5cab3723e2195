import { sql, type Kysely } from 'kysely';
import type { errors as OidcErrors } from 'oidc-provider';
import type { Database } from '../db/schema.ts';
import { clientMetadata } from './clients.ts';

/**
 * oidc-provider's storage adapter over Latch's database (its adapter contract: upsert, find,
 * findByUid, findByUserCode, consume, destroy, revokeByGrantId). Nothing is kept in process
 * memory, so every instance sees the same grants, codes and tokens.
 *
 * Times here are the provider's: it computes lifetimes from the system clock (`expiresIn`), so
 * expiry is compared with the system clock too, not with Latch's injectable one.
 *
 * The one link to Latch's sessions: a grant row carries the Latch session that signed the user in
 * (set when the interaction finishes, src/oidc/interaction.ts), and every token issued under the
 * grant copies it. A token or grant whose Latch session has ended (signed out, ended by the user
 * or an admin, a factor revoked, the account disabled) is not found: it is dead at once, whatever
 * path ended the session. src/oidc/logout.ts then deletes them and tells the apps.
 */
export type OidcPayload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

/** `errors`: oidc-provider's, from the module the provider was built with (src/oidc/provider.ts loads it on first use). */
export function createAdapterClass(db: Kysely<Database>, errors: typeof OidcErrors) {
  return class LatchOidcAdapter {
    constructor(private readonly kind: string) {}

    async upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      // A grant's own id is its grant_id, so revoking the grant deletes it with its tokens.
      const grantId = this.kind === 'Grant' ? id : (payload.grantId ?? null);
      const sessionOfGrant =
        grantId && this.kind !== 'Grant'
          ? sql<string | null>`(select g.latch_session_id from oidc_payloads g where g.kind = 'Grant' and g.id = ${grantId})`
          : sql<string | null>`null::uuid`;
      await db
        .insertInto('oidc_payloads')
        .values({
          kind: this.kind,
          id,
          payload: JSON.stringify(payload) as never,
          grant_id: grantId,
          user_code: payload.userCode ?? null,
          uid: payload.uid ?? null,
          latch_session_id: sessionOfGrant as never,
          expires_at: expiresAt,
          consumed_at: null,
        })
        .onConflict((conflict) =>
          conflict.columns(['kind', 'id']).doUpdateSet((eb) => ({
            payload: eb.ref('excluded.payload'),
            grant_id: eb.ref('excluded.grant_id'),
            user_code: eb.ref('excluded.user_code'),
            uid: eb.ref('excluded.uid'),
            expires_at: eb.ref('excluded.expires_at'),
            // Re-saving a grant (the provider does) must not cut its tie to the Latch session.
            latch_session_id: sql`coalesce(excluded.latch_session_id, oidc_payloads.latch_session_id)`,
          })),
        )
        .execute();
    }

    async find(id: string): Promise<OidcPayload | undefined> {
      if (this.kind === 'Client') return clientMetadata(db, id);
      return this.findWhere('id', id);
    }

    async findByUid(uid: string): Promise<OidcPayload | undefined> {
      return this.findWhere('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<OidcPayload | undefined> {
      return this.findWhere('user_code', userCode);
    }

    /**
     * Once, atomically: the provider reads a code or refresh token, checks it is unconsumed, then
     * consumes it, so two parallel requests with the same one could both pass its check. Here only
     * one UPDATE wins; the loser is a reuse: the whole grant is revoked and the request refused.
     */
    async consume(id: string): Promise<void> {
      const consumed = await db
        .updateTable('oidc_payloads')
        .set({ consumed_at: new Date() })
        .where('kind', '=', this.kind)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (consumed || (this.kind !== 'RefreshToken' && this.kind !== 'AuthorizationCode')) return;
      const row = await db.selectFrom('oidc_payloads').select('grant_id').where('kind', '=', this.kind).where('id', '=', id).executeTakeFirst();
      if (row?.grant_id) await db.deleteFrom('oidc_payloads').where('grant_id', '=', row.grant_id).execute();
      throw new errors.InvalidGrant(`${this.kind === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('kind', '=', this.kind).where('id', '=', id).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
    }

    private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<OidcPayload | undefined> {
      const row = await db
        .selectFrom('oidc_payloads as p')
        .leftJoin('sessions as s', 's.id', 'p.latch_session_id')
        .leftJoin('users as u', 'u.id', 's.user_id')
        .select(['p.payload', 'p.consumed_at'])
        .where('p.kind', '=', this.kind)
        .where(`p.${column}`, '=', value)
        .where((eb) => eb.or([eb('p.expires_at', 'is', null), eb('p.expires_at', '>', new Date())]))
        .where((eb) => eb.or([eb('p.latch_session_id', 'is', null), eb.and([eb('s.revoked_at', 'is', null), eb('u.status', '=', 'active')])]))
        .executeTakeFirst();
      if (!row) return undefined;
      const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as OidcPayload;
      return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload;
    }
  };
}

/** Rows past their expiry are never returned; this deletes them (run with the server's other sweeps). */
export async function deleteExpiredOidcPayloads(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
