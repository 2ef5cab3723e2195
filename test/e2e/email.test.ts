import { expect, it } from 'vitest';
import { developmentMailbox } from '../../src/notifications/transport.ts';
import { describeInBrowser, errorText, openTab, signUpWithAuthenticatorApp, statusText, useServerAndBrowser } from './helpers.ts';

/** The code in the newest development-mailbox message to `address` (the server runs in this process, without SMTP). */
function codeSentTo(address: string): string {
  const mail = developmentMailbox.list().find((message) => message.to === address);
  const code = mail ? /confirm this address: (\d{6})/.exec(mail.text)?.[1] : undefined;
  if (!code) throw new Error(`no code mailed to ${address}`);
  return code;
}

describeInBrowser('email address journey', () => {
  const env = useServerAndBrowser();

  it('add an address on the account page: a code is mailed, a wrong one is refused with the tries left, the right one confirms it', async () => {
    const { page } = await openTab(env.browser);
    await signUpWithAuthenticatorApp(page, env.latch);
    const panel = page.locator('#email');
    await panel.getByText('No email address').waitFor();

    const address = `journey-${Date.now()}@example.test`;
    await page.locator('#email-address').fill(address);
    await page.locator('#email-send').click();
    await page.locator('#email-code').waitFor();
    await expect.poll(() => statusText(page)).toContain(`We sent a code to ${address}`);
    const code = codeSentTo(address);

    await page.locator('#email-code').fill(code === '000000' ? '111111' : '000000');
    await page.locator('#email-confirm').click();
    expect(await errorText(page)).toContain('4 tries left');

    await page.locator('#email-code').fill(code);
    await page.locator('#email-confirm').click();
    await expect.poll(() => statusText(page)).toContain(`${address} is confirmed`);
    await panel.getByText(`Security emails go to ${address}`).waitFor();
  });
});
