import type { RolloutMode } from '../db/schema.ts';
import type { SignInProof } from './assurance.ts';

/**
 * The passkey rollout, decided in one place from the user's groups, exemption and factors, the
 * way they signed in, and the time. Pure: completeSignIn (src/auth/complete-sign-in.ts) reads the
 * facts in the sign-in's transaction and asks here; the session loader asks
 * `restrictedSessionMayUse` for every API request of a restricted session.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** A group's policy as the decision needs it (src/groups/groups.ts `groupPolicy` gives one). */
export interface RolloutGroupPolicy {
  mode: RolloutMode;
  deadline: Date | null;
  inviteAgainAfterDays: number;
}

export interface RolloutFacts {
  /** The policies of every group the user is in (the default group included). */
  policies: readonly RolloutGroupPolicy[];
  /** The user's exemption from the passkey requirement, if any (an ended one counts for nothing). */
  exemption: { expiresAt: Date | null } | null;
  /** The user has an active passkey. */
  hasPasskey: boolean;
  method: SignInProof['method'];
  /** When the user last chose "Not now". */
  lastSkippedAt: Date | null;
  now: Date;
}

export type RolloutOutcome =
  | { kind: 'none' }
  /** Show the invitation; `deadline`/`daysLeft` when a requirement is coming. */
  | { kind: 'invite'; deadline: Date | null; daysLeft: number | null }
  /** Required, the deadline passed, no passkey, no exemption: a restricted session. */
  | { kind: 'restricted'; since: Date };

/** Fallback sign-ins: the ones a passkey is meant to replace. */
const FALLBACK_METHODS: ReadonlySet<SignInProof['method']> = new Set(['password_totp', 'password_backup_code', 'password_remembered_device']);

export function isFallbackSignIn(method: SignInProof['method']): boolean {
  return FALLBACK_METHODS.has(method);
}

export function exemptionActive(exemption: RolloutFacts['exemption'], now: Date): boolean {
  return exemption !== null && (exemption.expiresAt === null || exemption.expiresAt.getTime() > now.getTime());
}

const strictness: Record<RolloutMode, number> = { optional: 0, encouraged: 1, required: 2 };

/**
 * The user's effective policy: the strictest of their groups' (required > encouraged > optional).
 * Between two `required` groups the earlier deadline is stricter; between groups of the mode that
 * wins, the shortest re-invitation interval. An active exemption lifts `required`: the user is
 * then treated as `encouraged` (invited, never restricted) — the exemption waives the deadline,
 * not the organization's wish that they move to passkeys.
 */
export function effectiveRolloutPolicy(policies: readonly RolloutGroupPolicy[], exempt: boolean): RolloutGroupPolicy {
  const lifted = policies.map((policy) => (exempt && policy.mode === 'required' ? { ...policy, mode: 'encouraged' as const, deadline: null } : policy));
  let best: RolloutGroupPolicy = { mode: 'optional', deadline: null, inviteAgainAfterDays: Number.POSITIVE_INFINITY };
  for (const policy of lifted) {
    if (strictness[policy.mode] > strictness[best.mode]) {
      best = { ...policy };
    } else if (policy.mode === best.mode) {
      const deadline =
        policy.deadline && best.deadline ? (policy.deadline.getTime() < best.deadline.getTime() ? policy.deadline : best.deadline) : (policy.deadline ?? best.deadline);
      best = { mode: best.mode, deadline, inviteAgainAfterDays: Math.min(best.inviteAgainAfterDays, policy.inviteAgainAfterDays) };
    }
  }
  return best;
}

/** Whole days left until the deadline, rounded up (a deadline later today is 1 day left). */
export function daysUntil(deadline: Date, now: Date): number {
  return Math.max(0, Math.ceil((deadline.getTime() - now.getTime()) / DAY_MS));
}

/**
 * What this sign-in yields. A passkey sign-in (or a user who has a passkey) yields nothing:
 * the rollout is about moving fallback users. Before a `required` deadline the invitation is
 * shown at every fallback sign-in (with the days left); `encouraged` shows it again only
 * `inviteAgainAfterDays` after the last "Not now".
 */
export function decideRollout(facts: RolloutFacts): RolloutOutcome {
  if (!isFallbackSignIn(facts.method) || facts.hasPasskey) return { kind: 'none' };
  const policy = effectiveRolloutPolicy(facts.policies, exemptionActive(facts.exemption, facts.now));
  switch (policy.mode) {
    case 'optional':
      return { kind: 'none' };
    case 'encouraged': {
      const againAt = facts.lastSkippedAt ? facts.lastSkippedAt.getTime() + policy.inviteAgainAfterDays * DAY_MS : Number.NEGATIVE_INFINITY;
      return facts.now.getTime() >= againAt ? { kind: 'invite', deadline: null, daysLeft: null } : { kind: 'none' };
    }
    case 'required': {
      // The groups table refuses `required` without a deadline; treat a missing one as "not yet".
      if (!policy.deadline) return { kind: 'invite', deadline: null, daysLeft: null };
      if (facts.now.getTime() < policy.deadline.getTime()) return { kind: 'invite', deadline: policy.deadline, daysLeft: daysUntil(policy.deadline, facts.now) };
      return { kind: 'restricted', since: policy.deadline };
    }
  }
}

/** The stable reason (and error code) a restricted session carries. */
export const PASSKEY_REQUIRED = 'passkey_required';

/**
 * What a restricted session may reach: its own session (read, sign out), the step-ups (a
 * remembered-browser sign-in must prove its code before `factor.add` lets it enroll) and passkey
 * enrollment. Everything else under /api answers 403 `passkey_required`. One list, read by the
 * session loader for every request, so a new route is closed to restricted sessions by default.
 */
const RESTRICTED_ALLOWED: ReadonlyArray<{ method: string; path: string }> = [
  { method: 'GET', path: '/api/session' },
  { method: 'DELETE', path: '/api/session' },
  { method: 'POST', path: '/api/factors/passkeys/options' },
  { method: 'POST', path: '/api/factors/passkeys/verify' },
  { method: 'POST', path: '/api/step-up/totp' },
  // A reverse proxy asks on the user's behalf: the answer sends the browser to Latch's sign-in
  // page, which shows the requirement (src/forward-auth/forward-auth.ts), never into the app.
  { method: 'GET', path: '/api/forward-auth' },
];

export function restrictedSessionMayUse(method: string, path: string): boolean {
  const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return RESTRICTED_ALLOWED.some((allowed) => allowed.method === method.toUpperCase() && allowed.path === normalized);
}

/** How the client learns of the rollout: in sign-in answers and on GET /api/session. */
export type RolloutNotice = { invite: true; daysLeft: number | null; deadline: string | null } | { restricted: true; since: string | null };

/** The notice a session carries (from the marks completeSignIn left on it), counted at `now`. */
export function rolloutNotice(
  session: { restricted_reason: string | null; passkey_invited_at: Date | null; rollout_deadline: Date | null },
  now: Date,
): RolloutNotice | null {
  if (session.restricted_reason) return { restricted: true, since: session.rollout_deadline?.toISOString() ?? null };
  if (session.passkey_invited_at) {
    return { invite: true, daysLeft: session.rollout_deadline ? daysUntil(session.rollout_deadline, now) : null, deadline: session.rollout_deadline?.toISOString() ?? null };
  }
  return null;
}

/**
 * Automatic passkey upgrades (a password manager creating a passkey with `mediation:
 * 'conditional'`, without a prompt) are accepted only right after a password + TOTP sign-in: the
 * user just proved two factors in this very session, and no later than this.
 */
export const AUTOMATIC_UPGRADE_WINDOW_SECONDS = 5 * 60;

export function automaticUpgradeAllowed(session: { amr: readonly string[]; created_at: Date; restricted_reason?: string | null }, now: Date): boolean {
  const ageSeconds = (now.getTime() - session.created_at.getTime()) / 1000;
  return session.amr.includes('pwd') && session.amr.includes('otp') && !session.amr.includes('remembered_device') && ageSeconds >= 0 && ageSeconds <= AUTOMATIC_UPGRADE_WINDOW_SECONDS;
}
