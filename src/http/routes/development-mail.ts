import { Hono } from 'hono';
import { readDevelopmentMailbox, type DevelopmentMailView } from '../../auth/admin/development-mail.ts';
import { sessionLifetimes } from '../../auth/requester.ts';
import { LatchError } from '../../errors.ts';
import { escapeHtml } from '../../notifications/messages.ts';
import { requesterOf, type AppContext, type AppDeps, type AppEnv } from '../context.ts';
import { pageContentSecurityPolicy } from '../middleware/security-headers.ts';
import { loadSession } from '../middleware/session.ts';
import { sessionCookieSettings } from '../session-cookie.ts';

/**
 * /admin/mail: the development mailbox as a plain server-rendered page (no script), and
 * /api/admin/mail as JSON. Both only exist on the embedded database without SMTP, for admins.
 */
export function developmentMailRoutes(deps: AppDeps) {
  const router = new Hono<AppEnv>();
  router.use('/admin/mail', pageContentSecurityPolicy());
  router.use('/admin/mail', loadSession({ db: deps.db, keyring: deps.keyring, lifetimes: sessionLifetimes(deps.config), cookie: sessionCookieSettings(deps.config) }));

  router.get('/api/admin/mail', async (c) => {
    const view = await readDevelopmentMailbox(deps, requesterOf(c));
    return c.json({
      outbox: view.outbox,
      messages: view.messages.map((mail) => ({ at: mail.at.toISOString(), kind: mail.kind, from: mail.from, to: mail.to, subject: mail.subject, text: mail.text })),
    });
  });

  router.get('/admin/mail', async (c) => {
    c.header('Cache-Control', 'no-store');
    try {
      return c.html(page(await readDevelopmentMailbox(deps, requesterOf(c))));
    } catch (error) {
      if (!(error instanceof LatchError)) throw error;
      return refusal(c, error);
    }
  });
  return router;
}

function refusal(c: AppContext, error: LatchError) {
  if (error.code === 'unauthenticated') return c.redirect(`/?next=${encodeURIComponent('/admin/mail')}`, 303);
  const explanation =
    error.code === 'step_up_required'
      ? 'Confirm it is you with a passkey first: do a sensitive action on your account page (or sign in again with a passkey), then reload this page.'
      : error.code === 'not_found'
        ? 'There is no development mailbox here: it exists only on the embedded database without LATCH_SMTP_URL.'
        : 'Only administrators may read the development mailbox.';
  return c.html(shell('Development mailbox', `<p class="message message-error">${escapeHtml(explanation)}</p><p><a href="/account">Your account</a></p>`), error.status as 403 | 404);
}

function page(view: DevelopmentMailView): string {
  const counts = `<p class="hint">Outbox: ${view.outbox.pending} pending, ${view.outbox.sent} sent, ${view.outbox.failed} given up, ${view.outbox.skipped} skipped (no confirmed address).</p>`;
  const items = view.messages.length === 0
    ? '<p class="empty">Nothing mailed yet.</p>'
    : `<ul class="items">${view.messages
        .map(
          (mail) => `<li class="item"><p><strong>${escapeHtml(mail.subject)}</strong></p>
<p class="item-meta"><span>To ${escapeHtml(mail.to)}</span> <span>${escapeHtml(mail.kind)}</span> <span><time datetime="${mail.at.toISOString()}">${mail.at.toISOString()}</time></span></p>
<pre>${escapeHtml(mail.text)}</pre></li>`,
        )
        .join('\n')}</ul>`;
  return shell(
    'Development mailbox',
    `<p class="lead">What this server would have mailed (newest first, kept in memory until it restarts). Nothing here was sent: set LATCH_SMTP_URL to send mail.</p>${counts}${items}`,
  );
}

function shell(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Latch</title>
<link rel="icon" href="/logo.svg" type="image/svg+xml"><link rel="stylesheet" href="/styles.css"></head>
<body><main id="main" class="page"><h1>${escapeHtml(title)}</h1>${content}</main></body>
</html>`;
}
