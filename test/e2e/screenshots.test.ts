import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, it } from 'vitest';
import {
  describeInBrowser,
  expectAccountPage,
  expectView,
  openTab,
  signUpWithAuthenticatorApp,
  signUpWithPasskey,
  useServerAndBrowser,
} from './helpers.ts';

/**
 * The README's pictures (docs/screenshots), at 1280×800 and 375×740. Runs only when asked:
 * `node scripts/screenshots.mjs` (LATCH_DOCS_SCREENSHOTS=1), so the suite does not pay for it.
 */
const DIR = resolve('docs/screenshots');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 375, height: 740 } } as const;
const wanted = process.env.LATCH_DOCS_SCREENSHOTS === '1';

async function shoot(page: Page, name: string): Promise<void> {
  await mkdir(DIR, { recursive: true });
  await page.mouse.move(0, 0); // no hover highlight
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.screenshot({ path: join(DIR, `${name}.png`) });
}

// Not asked for: skipped whole, so no server or browser is started for it.
(wanted ? describeInBrowser : describe.skip)('README screenshots', () => {
  const env = useServerAndBrowser();

  for (const [size, viewport] of Object.entries(SIZES)) {
    const suffix = size === 'desktop' ? '' : '-phone';
    it(`at ${viewport.width}×${viewport.height}`, async () => {
      const signIn = await openTab(env.browser, { viewport });
      await signIn.setPresence(false); // autofill waits instead of answering
      await signIn.page.goto(`${env.latch.url}/`);
      await expectView(signIn.page, 'passkey');
      await shoot(signIn.page, `sign-in${suffix}`);
      await signIn.context.close();

      const passkeyUser = await openTab(env.browser, { viewport });
      await signUpWithPasskey(passkeyUser.page, env.latch, `ada-${size}`);
      await shoot(passkeyUser.page, `account-single-way-in${suffix}`);
      await passkeyUser.context.close();

      const appUser = await openTab(env.browser, { viewport });
      await appUser.page.goto(`${env.latch.url}/signup`);
      await expectView(appUser.page, 'passkey');
      await shoot(appUser.page, `sign-up${suffix}`);
      await signUpWithAuthenticatorApp(appUser.page, env.latch, { username: `grace-${size}` });
      await expectAccountPage(appUser.page);
      await shoot(appUser.page, `account${suffix}`);
      await appUser.context.close();
    });
  }
});
