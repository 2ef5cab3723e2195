/**
 * The way back to a protected app after forward-auth sent the browser here: sign in if needed,
 * confirm with a passkey if the app's rule asks for it (the step-up dialog), then go. The server
 * decides whether the return address is one of the protected apps; this page never redirects on
 * its own say-so.
 */
import { ApiError, post, StepUpCancelled } from './api.ts';
import { installStepUp } from './stepup.ts';
import { byId, pageMessages } from './ui.ts';

const messages = pageMessages();
const retry = byId<HTMLButtonElement>('retry');
const target = new URLSearchParams(location.search).get('rd');

async function goOn(): Promise<void> {
  if (!target) {
    messages.error('This link does not say which app to go back to. Open the app again.');
    return;
  }
  retry.hidden = true;
  messages.status('Checking your sign-in…');
  try {
    const { location: app } = await post<{ location: string }>('/api/forward-auth/continue', { target }, { purpose: 'open this app', redirectOnUnauthenticated: false });
    messages.status('Taking you back to the app…');
    location.replace(app);
  } catch (error) {
    // Not signed in, or signed in but the organization requires a passkey first: the sign-in page
    // deals with both (it shows the requirement), then comes back here.
    if (error instanceof ApiError && (error.code === 'unauthenticated' || error.code === 'passkey_required')) {
      location.replace(`/signin?next=${encodeURIComponent(`/continue?rd=${encodeURIComponent(target)}`)}`);
      return;
    }
    messages.status('');
    messages.error(error instanceof StepUpCancelled ? 'This app asks you to confirm it is you first.' : (error as Error).message);
    if (!(error instanceof ApiError) || error.code === 'step_up_cancelled' || error.code === 'network') retry.hidden = false;
  }
}

installStepUp();
retry.addEventListener('click', () => void goOn());
void goOn();
