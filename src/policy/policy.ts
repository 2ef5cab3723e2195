import type { FactorKind } from '../db/schema.ts';

/**
 * The one place that decides whether a session may do a sensitive action. Routes ask `decide()`;
 * they never compare timestamps or AALs themselves.
 */

/** Factor kinds that can prove presence for a step-up (a password or backup code cannot). */
export type StepUpMethod = 'passkey' | 'totp';

export type SensitiveAction =
  | 'factor.add'
  | 'factor.remove'
  | 'factor.rename'
  | 'backup_codes.regenerate'
  | 'password.change'
  | 'sessions.revoke_others'
  | 'remembered_devices.forget'
  | 'email.change'
  | 'admin.read'
  | 'admin.write';

export interface Requirement {
  /** The last factor proof must be at most this old. */
  maxAgeSeconds: number;
  /** Which factors may be proven to satisfy the requirement. */
  methods: readonly StepUpMethod[];
  /** Only a phishing-resistant proof (a passkey with user verification) will do. */
  phishingResistant: boolean;
  /** The session must be at least this assurance level (after a step-up). */
  minAal: 1 | 2;
  /** Only administrators. */
  adminOnly: boolean;
}

const FIVE_MINUTES = 5 * 60;
const FIFTEEN_MINUTES = 15 * 60;
const both = ['passkey', 'totp'] as const;

export const policyTable: Readonly<Record<SensitiveAction, Requirement>> = {
  // Binding a factor that can reach two factors needs a two-factor session (NIST 800-63B
  // §6.1.2.1): otherwise a single-factor session (a passkey without user verification) could add
  // a factor its holder controls and step itself up with it. Removing, replacing codes and
  // changing the password need two factors for the same reason.
  'factor.add': { maxAgeSeconds: FIVE_MINUTES, methods: both, phishingResistant: false, minAal: 2, adminOnly: false },
  'factor.remove': { maxAgeSeconds: FIVE_MINUTES, methods: both, phishingResistant: false, minAal: 2, adminOnly: false },
  // Renaming, ending other sessions and forgetting browsers only ever take access away (or relabel).
  'factor.rename': { maxAgeSeconds: FIFTEEN_MINUTES, methods: both, phishingResistant: false, minAal: 1, adminOnly: false },
  'backup_codes.regenerate': { maxAgeSeconds: FIVE_MINUTES, methods: both, phishingResistant: false, minAal: 2, adminOnly: false },
  'password.change': { maxAgeSeconds: FIVE_MINUTES, methods: both, phishingResistant: false, minAal: 2, adminOnly: false },
  'sessions.revoke_others': { maxAgeSeconds: FIFTEEN_MINUTES, methods: both, phishingResistant: false, minAal: 1, adminOnly: false },
  'remembered_devices.forget': { maxAgeSeconds: FIFTEEN_MINUTES, methods: both, phishingResistant: false, minAal: 1, adminOnly: false },
  // Setting, changing or removing the address decides where the warnings go (and later where a
  // recovery link goes): a stolen session must not be able to redirect or silence them.
  'email.change': { maxAgeSeconds: FIVE_MINUTES, methods: both, phishingResistant: false, minAal: 2, adminOnly: false },
  // Administration acts on other people's accounts, so only a passkey with user verification will
  // do (a phished password and code must not reach it), and freshness counts from the last such
  // passkey proof, never from a TOTP step-up. Every change needs one within five minutes; reading
  // users, their factors and their audit trail (personal data, and the map an attacker would
  // want) needs one within fifteen, so browsing the admin pages does not ask at every click.
  'admin.read': { maxAgeSeconds: FIFTEEN_MINUTES, methods: ['passkey'], phishingResistant: true, minAal: 2, adminOnly: true },
  'admin.write': { maxAgeSeconds: FIVE_MINUTES, methods: ['passkey'], phishingResistant: true, minAal: 2, adminOnly: true },
};

/** What the policy needs to know of a session. */
export interface SessionFacts {
  aal: number;
  phishingResistant: boolean;
  lastVerifiedAt: Date;
  /** How the session was made; a remembered browser stood in for the second factor when it says so. */
  amr: readonly string[];
  steppedUpAt: Date | null;
  /**
   * The last passkey proof with user verification in this session. Actions that need a
   * phishing-resistant proof are fresh only from this: `lastVerifiedAt` also moves with a TOTP
   * step-up, and a stolen cookie plus a phished code must not pass for a passkey.
   */
  passkeyVerifiedAt?: Date | null;
}

export interface PolicyContext {
  now: Date;
  /** Active factor kinds the user can step up with in this session (not those bound in it): a step-up can only ask for what the user can give. */
  activeFactorKinds: readonly FactorKind[];
  /** Whether the user has such a passkey enrolled with user verification (phishing-resistant step-up possible). */
  hasUserVerifyingPasskey: boolean;
  isAdmin: boolean;
}

export type Decision =
  | { decision: 'allow' }
  | { decision: 'step_up_required'; methods: StepUpMethod[]; maxAgeSeconds: number }
  | { decision: 'deny'; reason: 'not_admin' | 'no_step_up_method' };

export function decide(action: SensitiveAction, session: SessionFacts, context: PolicyContext): Decision {
  return decideRequirement(policyTable[action], session, context);
}

/**
 * The decision itself, for a requirement from the table or one an entry point was configured
 * with (a forward-auth rule asking for a phishing-resistant sign-in): the same rules either way.
 */
export function decideRequirement(requirement: Requirement, session: SessionFacts, context: PolicyContext): Decision {
  if (requirement.adminOnly && !context.isAdmin) return { decision: 'deny', reason: 'not_admin' };

  const provenAt = requirement.phishingResistant ? (session.passkeyVerifiedAt ?? null) : session.lastVerifiedAt;
  const ageSeconds = provenAt ? (context.now.getTime() - provenAt.getTime()) / 1000 : Number.POSITIVE_INFINITY;
  // A remembered browser skipped the code at sign-in: convenient for signing in, but no proof that
  // the person is here now. Until they step up, nothing sensitive counts as freshly proven.
  const secondFactorSkipped = session.amr.includes('remembered_device') && session.steppedUpAt === null;
  const fresh = ageSeconds <= requirement.maxAgeSeconds && !secondFactorSkipped;
  const strongEnough = session.aal >= requirement.minAal && (!requirement.phishingResistant || session.phishingResistant);
  if (fresh && strongEnough) return { decision: 'allow' };

  // Offer only the proofs that would satisfy the requirement afterwards; offering one that cannot
  // (a passkey without user verification when two factors are needed) would loop the user.
  const mustRaiseAssurance = session.aal < requirement.minAal || (requirement.phishingResistant && !session.phishingResistant);
  const methods = requirement.methods.filter((method) => {
    if (!context.activeFactorKinds.includes(method)) return false;
    if (requirement.phishingResistant) return method === 'passkey' && context.hasUserVerifyingPasskey;
    if (method === 'passkey' && mustRaiseAssurance) return context.hasUserVerifyingPasskey;
    return true;
  });
  if (methods.length === 0) return { decision: 'deny', reason: 'no_step_up_method' };
  return { decision: 'step_up_required', methods, maxAgeSeconds: requirement.maxAgeSeconds };
}
