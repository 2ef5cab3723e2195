import type { Migration } from 'kysely';
import * as foundation from './2026-11-22T01-foundation.ts';
import * as signInEngine from './2026-11-23T01-sign-in-engine.ts';
import * as organizations from './2026-11-27T01-organizations.ts';
import * as notificationDelivery from './2026-11-27T15-notification-delivery.ts';
import * as administration from './2026-11-27T12-administration.ts';
import * as rollout from './2026-11-27T20-rollout.ts';
import * as adoptionDashboard from './2026-11-27T21-adoption-dashboard.ts';
import * as auditCheckpoints from './2026-11-27T23-audit-checkpoints.ts';
import * as recovery from './2026-11-27T23-recovery.ts';
import * as oidc from './2026-11-27T22-oidc.ts';
import * as boundedAuditCheckpoints from './2026-11-28T03-bounded-audit-checkpoints.ts';
import * as guardedWrites from './2026-11-28T04-guarded-writes.ts';
import * as hotPathIndexes from './2026-11-28T05-hot-path-indexes.ts';
import * as linkFallbackCeremony from './2026-11-28T01-link-fallback-ceremony.ts';
import * as signInsPerDay from './2026-11-28T01-sign-ins-per-day.ts';
import * as factorStateIndexes from './2026-11-28T02-factor-state-indexes.ts';

/**
 * Every migration, by name. Names sort in the order they run (date-prefixed); a static list
 * instead of a folder scan keeps migrations working wherever the code is bundled or run from.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-22T01-foundation': foundation,
  '2026-11-23T01-sign-in-engine': signInEngine,
  '2026-11-27T01-organizations': organizations,
  '2026-11-27T15-notification-delivery': notificationDelivery,
  '2026-11-27T12-administration': administration,
  '2026-11-27T20-rollout': rollout,
  '2026-11-27T21-adoption-dashboard': adoptionDashboard,
  '2026-11-27T23-audit-checkpoints': auditCheckpoints,
  '2026-11-27T23-recovery': recovery,
  '2026-11-27T22-oidc': oidc,
  '2026-11-28T01-link-fallback-ceremony': linkFallbackCeremony,
  '2026-11-28T01-sign-ins-per-day': signInsPerDay,
  '2026-11-28T02-factor-state-indexes': factorStateIndexes,
  '2026-11-28T03-bounded-audit-checkpoints': boundedAuditCheckpoints,
  '2026-11-28T04-guarded-writes': guardedWrites,
  '2026-11-28T05-hot-path-indexes': hotPathIndexes,
};
