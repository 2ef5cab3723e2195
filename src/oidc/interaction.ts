import { createHmac, timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../audit/audit.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { signedIn, type AuthDeps, type Requester, type SignedIn } from '../auth/requester.ts';
import { LatchError } from '../errors.ts';
import { ACR, oidcAuthenticationContext } from '../policy/assurance.ts';
import { requireSatisfied } from '../policy/enforce.ts';
import type { Requirement } from '../policy/policy.ts';
import { isFirstPartyClient } from './clients.ts';
import type { Oidc } from './provider.ts';

/**
 * An app's authorization request, finished by Latch. The provider sends the browser to Latch's
 * page (/oidc-interaction?uid=…); the page, once the browser has a Latch session (the ordinary
 * sign-in: passkey first, fallback second), posts here. What the app demands (`acr_values`,
 * `max_age`, `prompt=login`) becomes a policy requirement and goes through the one policy engine
 * (`requireSatisfied`): `step_up_required` sends the page to the passkey step-up; a user who
 * cannot give what is asked is sent back to the app with the standard error.
 */

export type InteractionAnswer =
  | { outcome: 'redirect'; location: string }
  | { outcome: 'consent_required'; client: { name: string }; scopes: string[] };

const MAX_AGE_UNLIMITED = Number.MAX_SAFE_INTEGER;

/** What the app's request asks of the session, as a policy requirement (null: any live session will do). */
export function interactionRequirement(
  params: { acr_values?: string; max_age?: string | number; prompt?: string },
  startedAt: Date,
  now: Date,
): { requirement: Requirement | null; acrDemanded: boolean } {
  const acrValues = typeof params.acr_values === 'string' ? params.acr_values.split(' ') : [];
  const phishingResistant = acrValues.includes(ACR.phishingResistant);
  const aal2 = phishingResistant || acrValues.includes(ACR.aal2);
  const maxAges: number[] = [];
  if (params.max_age !== undefined && Number.isFinite(Number(params.max_age))) maxAges.push(Math.max(0, Number(params.max_age)));
  // prompt=login: a proof made since the app sent this request, and not before.
  if (typeof params.prompt === 'string' && params.prompt.split(' ').includes('login')) maxAges.push(Math.max(0, Math.floor((now.getTime() - startedAt.getTime()) / 1000)));
  if (!aal2 && maxAges.length === 0) return { requirement: null, acrDemanded: false };
  return {
    requirement: {
      maxAgeSeconds: maxAges.length > 0 ? Math.min(...maxAges) : MAX_AGE_UNLIMITED,
      methods: phishingResistant ? ['passkey'] : ['passkey', 'totp'],
      phishingResistant,
      minAal: aal2 ? 2 : 1,
      adminOnly: false,
    },
    acrDemanded: aal2,
  };
}

/**
 * Binding an interaction to the browser that started it. Without it, whoever learns an
 * interaction id could finish it with another session: an attacker starts "Sign in with Latch" at
 * an app, sends the interaction link to a victim who is signed in to Latch, and the attacker's
 * browser (holding the provider's resume cookie) receives the code for the victim's account. The
 * provider's own interaction cookie is scoped to the page's path and never reaches /api, so Latch
 * sets its own: the ids of the last few interactions this browser started, each with a keyed MAC
 * (a cookie planted from a sibling subdomain cannot name one), and only those can be finished.
 */
export const INTERACTION_COOKIE = 'latch_oidc_interactions';
/** Interactions one browser can have open at once (several tabs, several apps). */
const INTERACTIONS_PER_BROWSER = 4;

function interactionMac(keyring: Keyring, uid: string): string {
  return createHmac('sha256', keyring.hmacKey).update(`oidc-interaction:${uid}`).digest('base64url').slice(0, 32);
}

/** The interaction ids a cookie value names with a valid MAC. */
export function browserInteractions(keyring: Keyring, cookieValue: string | undefined): Set<string> {
  const uids = new Set<string>();
  for (const entry of (cookieValue ?? '').split('~').slice(0, INTERACTIONS_PER_BROWSER)) {
    const [uid, mac] = entry.split('.');
    if (!uid || !mac) continue;
    const expected = Buffer.from(interactionMac(keyring, uid));
    const given = Buffer.from(mac);
    if (given.length === expected.length && timingSafeEqual(given, expected)) uids.add(uid);
  }
  return uids;
}

/** The cookie value after this browser started interaction `uid`: it first, then the most recent others. */
export function withInteraction(keyring: Keyring, cookieValue: string | undefined, uid: string): string {
  const others = [...browserInteractions(keyring, cookieValue)].filter((other) => other !== uid).slice(0, INTERACTIONS_PER_BROWSER - 1);
  return [uid, ...others].map((id) => `${id}.${interactionMac(keyring, id)}`).join('~');
}

async function findInteraction(oidc: Oidc, uid: string) {
  const provider = await oidc.provider();
  const interaction = typeof uid === 'string' && uid.length <= 64 ? await provider.Interaction.find(uid) : undefined;
  if (!interaction) throw new LatchError('oidc_interaction_invalid');
  return { provider, interaction };
}

async function finish(interaction: any, result: Record<string, unknown>): Promise<InteractionAnswer> {
  interaction.result = result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return { outcome: 'redirect', location: interaction.returnTo as string };
}

/**
 * The page's step once the browser is signed in: check what the app asks, then either finish
 * (first-party client, or `consent` given) or ask the user's consent (third-party client).
 */
export async function continueInteraction(
  deps: AuthDeps,
  requester: Requester,
  oidc: Oidc,
  input: { uid: string; consent?: 'approve' | 'deny'; browserInteractions: ReadonlySet<string> },
): Promise<InteractionAnswer> {
  // An interaction another browser started answers like one that does not exist: no oracle.
  if (!input.browserInteractions.has(input.uid)) throw new LatchError('oidc_interaction_invalid');
  const { provider, interaction } = await findInteraction(oidc, input.uid);
  const current = signedIn(requester);
  const params = interaction.params as { client_id: string; scope?: string; acr_values?: string; max_age?: string; prompt?: string };
  const client = await provider.Client.find(params.client_id);
  if (!client) throw new LatchError('oidc_interaction_invalid');

  if (input.consent === 'deny') {
    await audit(deps, requester, current, params.client_id, 'denied', { reason: 'consent_denied' });
    return finish(interaction, { error: 'access_denied', error_description: 'The user did not allow this app.' });
  }

  const { requirement, acrDemanded } = interactionRequirement(params, new Date(interaction.iat * 1000), requester.now);
  if (requirement) {
    try {
      await requireSatisfied(deps.db, requirement, current, requester.now);
    } catch (error) {
      // A step-up would do: the page asks for it, then posts again.
      if (!(error instanceof LatchError) || error.code !== 'forbidden') throw error;
      await audit(deps, requester, current, params.client_id, 'denied', { reason: 'requirement_unmet' });
      return finish(
        interaction,
        acrDemanded
          ? { error: 'unmet_authentication_requirements', error_description: 'The sign-in this app asks for is not one this account can give.' }
          : { error: 'login_required', error_description: 'A fresh sign-in this account can give is needed.' },
      );
    }
  }

  const scopes = (params.scope ?? 'openid').split(' ').filter(Boolean);
  if (input.consent !== 'approve' && !(await isFirstPartyClient(deps.db, params.client_id))) {
    return { outcome: 'consent_required', client: { name: client.clientName ?? params.client_id }, scopes };
  }

  const grant = new provider.Grant({ accountId: current.user.id, clientId: params.client_id });
  grant.addOIDCScope(scopes.join(' '));
  const grantId: string = await grant.save();
  // The grant (and every token issued under it) lives as long as this Latch session (src/oidc/adapter.ts).
  await deps.db.updateTable('oidc_payloads').set({ latch_session_id: current.session.id }).where('kind', '=', 'Grant').where('id', '=', grantId).execute();

  const { session } = current;
  const { acr, amr } = oidcAuthenticationContext({ amr: session.amr, aal: session.aal, phishingResistant: session.phishing_resistant });
  // auth_time: the proof the requirement rested on (a passkey's, when one was demanded).
  const provenAt = requirement?.phishingResistant && session.passkey_verified_at ? session.passkey_verified_at : session.last_verified_at;
  await audit(deps, requester, current, params.client_id, 'success', { acr, scopes });
  return finish(interaction, {
    login: { accountId: current.user.id, acr, amr, ts: Math.floor(provenAt.getTime() / 1000), remember: true },
    consent: { grantId },
  });
}

function audit(deps: AuthDeps, requester: Requester, current: SignedIn, clientId: string, outcome: 'success' | 'denied', details: Record<string, unknown>) {
  return recordAudit(deps.db, requester, {
    action: 'oidc.authorize',
    outcome,
    actorUserId: current.user.id,
    subjectUserId: current.user.id,
    sessionId: current.session.id,
    details: { clientId, ...details },
  });
}
