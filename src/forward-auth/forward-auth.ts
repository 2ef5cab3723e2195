import type { AuthDeps, Requester, SignedIn } from '../auth/requester.ts';
import { signedIn } from '../auth/requester.ts';
import type { Config } from '../config.ts';
import { LatchError } from '../errors.ts';
import { sessionFacts, requireSatisfied } from '../policy/enforce.ts';
import { decideRequirement, type Requirement } from '../policy/policy.ts';
import { matchRule, type ForwardAuthRule } from './rules.ts';
import { isAllowedTarget } from './target.ts';

/**
 * Forward-auth: a reverse proxy asks, for each request to a protected app, whether this browser's
 * session may reach that URL. Every rule about what a session is worth goes through the policy
 * engine (`decideRequirement`); this module only maps a rule to a requirement and the answer to
 * what the proxy needs.
 */

export type ForwardAuthAnswer =
  | { outcome: 'allow'; headers: Record<string, string> }
  /** Not signed in; `location` is where to send the browser (null when the URL is not one we may redirect to). */
  | { outcome: 'unauthenticated'; location: string | null }
  /** Signed in, but the rule asks for a fresher or phishing-resistant proof: send the browser to confirm. */
  | { outcome: 'step_up'; location: string | null }
  /** Signed in, and no proof would help (not in the rule's groups). */
  | { outcome: 'forbidden' };

/** What a rule asks of the session, as a policy requirement. */
function ruleRequirement(rule: ForwardAuthRule | null, config: Pick<Config, 'sessionAbsoluteSeconds'>): Requirement | null {
  if (!rule?.phishingResistant) return null;
  return { maxAgeSeconds: rule.maxAgeSeconds ?? config.sessionAbsoluteSeconds, methods: ['passkey'], phishingResistant: true, minAal: 2, adminOnly: false };
}

async function groupNamesOf(deps: AuthDeps, userId: string): Promise<string[]> {
  const rows = await deps.db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select('groups.name')
    .where('group_members.user_id', '=', userId)
    .orderBy('groups.name')
    .execute();
  return rows.map((row) => row.name);
}

function inGroups(rule: ForwardAuthRule | null, groups: readonly string[]): boolean {
  return !rule?.groups || rule.groups.some((group) => groups.includes(group));
}

/** The primary origin's page that finishes a forward-auth round trip (step-up, then back to the app). */
export function continueLocation(config: Pick<Config, 'origins'>, target: URL): string {
  return `${config.origins[0]}/continue?rd=${encodeURIComponent(target.toString())}`;
}

export function signInLocation(config: Pick<Config, 'origins'>, target: URL | null): string {
  if (!target) return `${config.origins[0]}/signin`;
  const next = `/continue?rd=${encodeURIComponent(target.toString())}`;
  return `${config.origins[0]}/signin?next=${encodeURIComponent(next)}`;
}

/** Header values are bytes: UTF-8 text travels as its bytes, and no control character gets through. */
function headerValue(text: string): string {
  return Buffer.from(text.replace(/[\u0000-\u001f\u007f]/g, ' '), 'utf8').toString('latin1');
}

function identityHeaders(current: SignedIn, groups: readonly string[]): Record<string, string> {
  const { user, session } = current;
  return {
    'Remote-User': headerValue(user.username),
    'Remote-Name': headerValue(user.display_name),
    // Only a confirmed address is something an app may trust.
    'Remote-Email': user.email && user.email_verified_at ? headerValue(user.email) : '',
    'Remote-Groups': headerValue(groups.join(',')),
    'Remote-AAL': String(session.aal),
    'Remote-Phishing-Resistant': String(session.phishing_resistant),
    'Remote-Amr': headerValue(session.amr.join(',')),
  };
}

function redirectable(deps: AuthDeps, target: URL | null): URL | null {
  if (!target) return null;
  const allowHttp = deps.config.origins[0]!.startsWith('http:');
  return isAllowedTarget(target, deps.config.forwardAuth.domains, allowHttp) ? target : null;
}

/**
 * The proxy's question for one request. No audit row: this runs on every request to every
 * protected app; the sign-ins and step-ups it leads to are audited where they happen.
 */
export async function checkForwardAuth(deps: AuthDeps, requester: Requester, input: { target: URL | null }): Promise<ForwardAuthAnswer> {
  const back = redirectable(deps, input.target);
  const current = requester.current;
  if (!current) return { outcome: 'unauthenticated', location: signInLocation(deps.config, back) };
  // A session restricted by the passkey rollout reaches no app: the sign-in page shows it the
  // requirement and, once a passkey is added, the way back (`next`) to the app.
  if (current.session.restricted_reason !== null) return { outcome: 'unauthenticated', location: signInLocation(deps.config, back) };

  const rule = input.target ? matchRule(deps.config.forwardAuth.rules, input.target) : null;
  const groups = await groupNamesOf(deps, current.user.id);
  if (!inGroups(rule, groups)) return { outcome: 'forbidden' };

  const requirement = ruleRequirement(rule, deps.config);
  if (requirement) {
    // The fast question first (no factor list): is the session already good enough? The
    // continue page asks the full question, which knows which step-up the user can give.
    const decision = decideRequirement(requirement, sessionFacts(current.session), { now: requester.now, activeFactorKinds: [], hasUserVerifyingPasskey: false, isAdmin: current.user.is_admin });
    if (decision.decision !== 'allow') return { outcome: 'step_up', location: back ? continueLocation(deps.config, back) : null };
  }
  return { outcome: 'allow', headers: identityHeaders(current, groups) };
}

/**
 * The continue page's step: the signed-in browser asks to go back to the app. Answers where to go,
 * or throws what stands in the way — `step_up_required` with the methods that would satisfy the
 * rule (the client's step-up dialog handles it and asks again), `forbidden` otherwise.
 */
export async function continueToApp(deps: AuthDeps, requester: Requester, input: { target: URL | null }): Promise<{ location: string }> {
  const current = signedIn(requester);
  const target = redirectable(deps, input.target);
  if (!target) throw new LatchError('redirect_not_allowed');
  const rule = matchRule(deps.config.forwardAuth.rules, target);
  if (!inGroups(rule, await groupNamesOf(deps, current.user.id))) {
    throw new LatchError('forbidden', 'Your account is not allowed into this app. Ask an administrator to add you to its group.', { reason: 'not_in_group' });
  }
  const requirement = ruleRequirement(rule, deps.config);
  if (requirement) await requireSatisfied(deps.db, requirement, current, requester.now);
  return { location: target.toString() };
}
