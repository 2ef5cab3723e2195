import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { Oidc } from './provider.ts';

/**
 * How the end of a Latch session reaches the apps. Tokens stop working the moment the session
 * ends, whatever ended it (src/oidc/adapter.ts does not find them); this sweep then deletes the
 * grants and their tokens and sends an OpenID Connect back-channel logout to each client that
 * registered a `backchannel_logout_uri`. It needs no hook in the revocation paths: signing out,
 * ending a session, revoking a factor (src/factors/revocation.ts ends the sessions it made) and
 * disabling a user all end sessions, and that is what it looks for.
 *
 * Several instances may sweep at once: each grant is claimed by deleting it, so exactly one
 * instance tells the app (at most once; an app that was down misses it, as with any back-channel
 * logout, and its tokens are dead anyway).
 */
export async function endGrantsOfEndedSessions(deps: { db: Db; logger: Logger }, oidc: Oidc, limit = 100): Promise<number> {
  const ended = await deps.db
    .deleteFrom('oidc_payloads')
    .where('kind', '=', 'Grant')
    .where(
      'id',
      'in',
      deps.db
        .selectFrom('oidc_payloads as p')
        .innerJoin('sessions as s', 's.id', 'p.latch_session_id')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .select('p.id')
        .where('p.kind', '=', 'Grant')
        .where((eb) => eb.or([eb('s.revoked_at', 'is not', null), eb('u.status', '<>', 'active')]))
        .limit(limit),
    )
    .returning(['id', sql<Record<string, unknown> | string>`payload`.as('payload')])
    .execute();
  if (ended.length === 0) return 0;
  await deps.db.deleteFrom('oidc_payloads').where('grant_id', 'in', ended.map((row) => row.id)).execute();

  const provider = await oidc.provider();
  await Promise.all(
    ended.map(async (row) => {
      const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as { clientId?: string; accountId?: string };
      if (!payload.clientId || !payload.accountId) return;
      const client = await provider.Client.find(payload.clientId);
      if (!client?.backchannelLogoutUri) return;
      try {
        await client.backchannelLogout(payload.accountId, undefined);
      } catch (error) {
        deps.logger.warn('back-channel logout failed', { clientId: payload.clientId, errorName: (error as Error).name, message: (error as Error).message });
      }
    }),
  );
  return ended.length;
}
