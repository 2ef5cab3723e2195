import { describe, expect, it } from 'vitest';
import { confirmEmail, removeEmail, requestEmailChange, showEmail } from '../../src/auth/manage/email.ts';
import { silentLogger } from '../../src/logger.ts';
import { developmentMailer, DevelopmentMailbox } from '../../src/notifications/transport.ts';
import { createFlows, signedInAs, signUpTotpUser } from './helpers.ts';

const f = await createFlows();
const mailbox = new DevelopmentMailbox();
const deps = { ...f.deps, mailer: developmentMailer('Latch <no-reply@localhost>', silentLogger, mailbox) };

describe('email flows without HTTP', () => {
  it('request → code in the mail → confirm → remove, through the flows any entry point calls', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    const pending = await requestEmailChange(deps, requester, { email: ' Flow@Example.org ' });
    expect(pending.pending?.address).toBe('Flow@example.org');
    const mail = mailbox.list().find((message) => message.to === 'Flow@example.org')!;
    expect(mail.kind).toBe('email_confirm');
    const code = /confirm this address: (\d{6})/.exec(mail.text)![1]!;

    await expect(confirmEmail(deps, requester, { code: code === '000000' ? '111111' : '000000' })).rejects.toMatchObject({ code: 'code_invalid', details: { attemptsLeft: 4 } });
    expect(await confirmEmail(deps, requester, { code })).toMatchObject({ address: 'Flow@example.org', confirmed: true, pending: null });
    expect(await removeEmail(deps, requester)).toMatchObject({ address: null, confirmed: false });
    expect(await showEmail(deps, requester)).toMatchObject({ address: null, pending: null });
  });

  it('refuses what is not an address, and a session whose proof is stale (step_up_required) before anything is sent', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    await expect(requestEmailChange(deps, requester, { email: 'not an address' })).rejects.toMatchObject({ code: 'email_invalid' });
    f.t.clock.advance(6 * 60);
    const stale = await signedInAs(f, user.established);
    const before = mailbox.list().length;
    await expect(requestEmailChange(deps, stale, { email: 'late@example.org' })).rejects.toMatchObject({ code: 'step_up_required' });
    expect(mailbox.list().length).toBe(before);
    await expect(confirmEmail(deps, { ...stale, current: null }, { code: '123456' })).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
