/**
 * An app's "Sign in with Latch": the OpenID Connect provider sends the browser here with the
 * request's id. Sign in if needed (the ordinary sign-in page, passkey first), confirm with a
 * passkey if the app asks for more (the step-up dialog), allow a third-party app its scopes, then
 * go back through the provider to the app. The server decides everything; this page only asks.
 */
import { ApiError, post, StepUpCancelled } from './api.ts';
import { installStepUp } from './stepup.ts';
import { byId, h, pageMessages } from './ui.ts';

type Answer = { location: string } | { consent: { client: { name: string }; scopes: string[] } };

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are on Latch',
  profile: 'See your username and display name',
  email: 'See your confirmed email address',
  offline_access: 'Stay signed in when you are away',
};

const messages = pageMessages();
const retry = byId<HTMLButtonElement>('retry');
const consent = byId('consent');
const uid = new URLSearchParams(location.search).get('uid');

function follow(answer: Answer): void {
  if ('location' in answer) {
    messages.status('Taking you back to the app…');
    location.replace(answer.location);
    return;
  }
  messages.status('');
  byId('consent-client').textContent = answer.consent.client.name;
  const list = byId('consent-scopes');
  list.replaceChildren(...answer.consent.scopes.map((scope) => h('li', {}, SCOPE_TEXT[scope] ?? scope)));
  consent.hidden = false;
}

async function run(path: string, body?: unknown): Promise<void> {
  if (!uid || !/^[A-Za-z0-9_-]{1,64}$/.test(uid)) {
    messages.error('This link does not name a sign-in request. Go back to the app and try again.');
    return;
  }
  retry.hidden = true;
  messages.status('Checking your sign-in…');
  try {
    follow(await post<Answer>(path, body, { purpose: 'sign in to this app', redirectOnUnauthenticated: false }));
  } catch (error) {
    // Not signed in, or signed in but the organization requires a passkey first: the sign-in page
    // deals with both (it shows the requirement), then comes back here.
    if (error instanceof ApiError && (error.code === 'unauthenticated' || error.code === 'passkey_required')) {
      location.replace(`/signin?next=${encodeURIComponent(`/oidc-interaction?uid=${uid}`)}`);
      return;
    }
    messages.status('');
    messages.error(error instanceof StepUpCancelled ? 'This app asks you to confirm it is you first.' : (error as Error).message);
    if (!(error instanceof ApiError) || error.code === 'step_up_cancelled' || error.code === 'network') retry.hidden = false;
  }
}

installStepUp();
retry.addEventListener('click', () => void run(`/api/oidc/interaction/${uid}/login`));
byId('approve').addEventListener('click', () => void run(`/api/oidc/interaction/${uid}/consent`, { approve: true }));
byId('deny').addEventListener('click', () => void run(`/api/oidc/interaction/${uid}/consent`, { approve: false }));
void run(`/api/oidc/interaction/${uid}/login`);
