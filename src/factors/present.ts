import type { Kysely, Transaction } from 'kysely';
import type { Database, Factor } from '../db/schema.ts';
import { authenticatorName, builtInAuthenticatorNames, type AuthenticatorNames } from './aaguid.ts';
import { publicFactorBase } from './factors.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * A factor as `GET /api/factors` shows it: the shared fields plus what the user needs to
 * recognise it. Never a secret, a hash, a public key or a sealed value.
 */
export async function presentFactors(db: Executor, factors: Factor[], names: AuthenticatorNames = builtInAuthenticatorNames) {
  const backupSetIds = factors.filter((factor) => factor.kind === 'backup_codes').map((factor) => factor.id);
  const remainingBySet = new Map<string, { remaining: number; total: number }>();
  if (backupSetIds.length > 0) {
    const counts = await db
      .selectFrom('backup_codes')
      .select(['factor_id'])
      .select((eb) => [eb.fn.countAll<number>().as('total'), eb.fn.count<number>('id').filterWhere('used_at', 'is', null).as('remaining')])
      .where('factor_id', 'in', backupSetIds)
      .groupBy('factor_id')
      .execute();
    for (const row of counts) remainingBySet.set(row.factor_id, { remaining: Number(row.remaining), total: Number(row.total) });
  }
  return factors.map((factor) => ({ ...publicFactorBase(factor), ...kindDetails(factor, remainingBySet, names) }));
}

function kindDetails(factor: Factor, remainingBySet: Map<string, { remaining: number; total: number }>, names: AuthenticatorNames) {
  switch (factor.kind) {
    case 'passkey':
      return {
        // Not a secret (sign-in options name it); the client lists them for signalAllAcceptedCredentials.
        credentialId: factor.credential_id,
        aaguid: factor.aaguid,
        authenticatorName: authenticatorName(names, factor.aaguid),
        synced: factor.backed_up === true,
        backupEligible: factor.backup_eligible === true,
        transports: factor.transports ?? [],
        userVerified: factor.user_verified === true,
        flagged: factor.flagged_at !== null,
        flaggedReason: factor.flagged_reason,
      };
    case 'totp':
      return { algorithm: factor.algorithm, digits: factor.digits, periodSeconds: factor.period_seconds };
    case 'backup_codes':
      return remainingBySet.get(factor.id) ?? { remaining: 0, total: 0 };
    case 'password':
      return {};
  }
}
