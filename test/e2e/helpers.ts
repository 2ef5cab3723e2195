/**
 * Browser-test plumbing: the real server on a real port, headless Chromium through playwright-core,
 * Chrome's virtual authenticator over the DevTools protocol, TOTP codes computed like an app does.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, onTestFailed, vi } from 'vitest';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/clock.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { decodeBase32, totp as totpOf } from '../helpers/authenticator.ts';

export const CHROMIUM_PATH = process.env.LATCH_CHROMIUM ?? '/usr/bin/chromium';
export const JOURNEY_TIMEOUT_MS = 120_000;
export const ARTIFACTS_DIR = resolve('test-artifacts/e2e');
const DOCS_SCREENSHOTS_DIR = resolve('docs/screenshots');

const HOW_TO_RUN =
  'Install Chromium (Debian/Ubuntu: `sudo apt-get install -y chromium`; or point LATCH_CHROMIUM at a Chromium binary), ' +
  'then run `npm run test:e2e`.';

/**
 * `describe` for a browser journey file. Without Chromium the file is skipped with a message that
 * says how to run it — unless LATCH_REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH)) {
    // A journey drives several pages and ceremonies: longer than a unit test may take.
    describe(name, { timeout: JOURNEY_TIMEOUT_MS }, body);
    return;
  }
  if (process.env.LATCH_REQUIRE_BROWSER === '1') {
    throw new Error(`LATCH_REQUIRE_BROWSER=1, but there is no Chromium at ${CHROMIUM_PATH}. ${HOW_TO_RUN}`);
  }
  const message = `Browser tests skipped: no Chromium at ${CHROMIUM_PATH}. ${HOW_TO_RUN}`;
  console.warn(message);
  describe.skip(`${name} — ${message}`, body);
}

/** The server's clock: real time plus an offset the test moves forward (step-up freshness, TOTP steps). */
export interface TestClock extends Clock {
  advance(seconds: number): void;
}

export function movableClock(): TestClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

export interface Latch {
  url: string;
  /** The server's configuration (its keys included: a test can write what the server would read). */
  config: Config;
  clock: TestClock;
  server: RunningServer;
  close(): Promise<void>;
}

/**
 * The real server on http://localhost:<port>: on an embedded database in a temporary folder, or,
 * when TEST_DATABASE_URL is set (CI's second pass), on a fresh PostgreSQL database of its own.
 */
export async function startLatch(options: { env?: Record<string, string> } = {}): Promise<Latch> {
  const dataDir = await mkdtemp(join(tmpdir(), 'latch-e2e-'));
  const port = await freePort();
  const postgres = process.env.TEST_DATABASE_URL ? await createE2eDatabase(process.env.TEST_DATABASE_URL) : null;
  const config = loadConfig({
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCH_DATA_DIR: dataDir,
    LATCH_ORIGINS: `http://localhost:${port}`,
    LATCH_LOG_LEVEL: 'warn',
    // Keys of its own, so the server does not write development keys (and warn about them).
    LATCH_ENCRYPTION_KEYS: `e2e:${randomBytes(32).toString('base64')}`,
    LATCH_HMAC_KEY: randomBytes(32).toString('base64'),
    ...options.env,
  });
  const clock = movableClock();
  const server = await startServer(config, { clock });
  return {
    url: `http://localhost:${port}`,
    config,
    clock,
    server,
    async close() {
      await server.close();
      await postgres?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function createE2eDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `latch_e2e_${randomBytes(6).toString('hex')}`;
  const run = async (statement: string) => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(statement);
    } finally {
      await admin.end();
    }
  };
  await run(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      // The server's pool has closed, but its backends may still be on their way out; a DROP
      // would see them. Wait until the database has no connection left, then drop it.
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        const connections = async () => Number((await admin.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = $1', [name])).rows[0]!.n);
        await vi.waitFor(
          async () => {
            const left = await connections();
            if (left > 0) throw new Error(`${name} still has ${left} connection(s)`);
          },
          { timeout: 15_000, interval: 100 },
        );
        await admin.query(`drop database if exists ${name}`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** What a journey file shares: one server and one browser, started before its tests and closed after. */
export interface JourneyEnvironment {
  latch: Latch;
  browser: Browser;
}

/** Call at the top of a `describeInBrowser` body; the fields are there once the tests run. */
export function useServerAndBrowser(env: Record<string, string> = {}): JourneyEnvironment {
  const environment = {} as JourneyEnvironment;
  beforeAll(async () => {
    [environment.latch, environment.browser] = await Promise.all([startLatch({ env }), launchBrowser()]);
  }, 240_000); // generous: on a busy machine, migrations and a cold Chromium start take a while
  afterAll(async () => {
    await environment.browser?.close();
    await environment.latch?.close();
  });
  return environment;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface BrowserTab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  /** The virtual authenticator, when the tab has one. */
  authenticatorId: string | null;
  /**
   * Whether the authenticator answers by itself. Chromium's virtual authenticator answers a
   * conditional (autofill) request at once; turning presence off keeps autofill pending, so a
   * test can use the button instead.
   */
  setPresence(enabled: boolean): Promise<void>;
  credentials(): Promise<VirtualCredential[]>;
  /** Puts credentials (with their private keys, from `credentials()`) back into the authenticator. */
  addCredentials(credentials: VirtualCredential[]): Promise<void>;
  removeAuthenticator(): Promise<void>;
}

export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

let failedShots = 0;

export const PHONE_VIEWPORT = { width: 375, height: 740 };
export const DESKTOP_VIEWPORT = { width: 1100, height: 900 };

/**
 * A fresh browser context (its own cookies) with one page. With `webauthn` (the default) it has a
 * platform-like virtual authenticator: CTAP2, internal transport, resident keys, user verification.
 * With `webauthn: 'absent'` the page has no WebAuthn API at all.
 */
export async function openTab(browser: Browser, options: { webauthn?: boolean | 'absent'; viewport?: { width: number; height: number } } = {}): Promise<BrowserTab> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP_VIEWPORT });
  const page = await context.newPage();
  // A failing journey leaves a picture of where it stopped.
  onTestFailed(async ({ task }) => {
    if (!page.isClosed()) await screenshot(page, `FAILED ${task.name.slice(0, 60).replace(/[^\w -]+/g, '')} ${++failedShots}`).catch(() => undefined);
  });
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) console.error(`[console] ${message.text()}`);
  });
  const cdp = await context.newCDPSession(page);
  let authenticatorId: string | null = null;
  const webauthn = options.webauthn ?? true;
  if (webauthn === 'absent') {
    await page.addInitScript(() => {
      delete (window as { PublicKeyCredential?: unknown }).PublicKeyCredential;
    });
  } else if (webauthn) {
    await cdp.send('WebAuthn.enable', { enableUI: false });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
  }
  return {
    context,
    page,
    cdp,
    get authenticatorId() {
      return authenticatorId;
    },
    async setPresence(enabled) {
      if (!authenticatorId) return;
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
    },
    async credentials() {
      if (!authenticatorId) return [];
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    async addCredentials(saved) {
      if (!authenticatorId) return;
      for (const credential of saved) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    },
    async removeAuthenticator() {
      if (!authenticatorId) return;
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      authenticatorId = null;
    },
  };
}

// ——— TOTP, computed in the test from the key shown on the page ———

/** The code an authenticator app shows at `at` for the base32 key (RFC 6238, SHA-1, 6 digits, 30 s; test/helpers/authenticator.ts). */
export function totp(secretBase32: string, at: Date): string {
  return totpOf(decodeBase32(secretBase32.replace(/\s+/g, '')), at);
}

// ——— Page helpers ———

/**
 * Saves a screenshot to test-artifacts/e2e/. With `docs` and LATCH_DOCS_SCREENSHOTS=1 it also
 * refreshes docs/screenshots/<docs>.png, the pictures the README shows.
 */
export async function screenshot(page: Page, name: string, options: { docs?: string } = {}): Promise<void> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
  if (options.docs && process.env.LATCH_DOCS_SCREENSHOTS === '1') {
    await mkdir(DOCS_SCREENSHOTS_DIR, { recursive: true });
    await page.mouse.move(0, 0); // no hover highlight in the published picture
    await page.screenshot({ path: join(DOCS_SCREENSHOTS_DIR, `${options.docs}.png`), fullPage: true });
  }
}

/** Waits until the page's visible view is `name` (the `[data-view]` section shown). */
export async function expectView(page: Page, name: string): Promise<void> {
  await page.waitForFunction((view) => document.body.dataset.currentView === view, name, { timeout: 15_000 });
}

export async function expectPath(page: Page, path: string): Promise<void> {
  await page.waitForURL((url) => url.pathname === path, { timeout: 15_000 });
}

/** The account page has finished loading its sections. */
export async function expectAccountPage(page: Page): Promise<void> {
  await expectPath(page, '/account');
  await page.locator('#sections').waitFor({ state: 'visible', timeout: 15_000 });
}

/**
 * What the page's status areas say now, all of them joined: each panel, view and dialog has its
 * own (issue 12, point 4), so a test asks the page, or passes the panel or dialog as `scope`.
 */
export async function statusText(page: Page, scope = 'body'): Promise<string> {
  return page.evaluate((selector) => Array.from(document.querySelectorAll(`${selector} [role="status"]`)).map((region) => region.textContent ?? '').join(' ').trim(), scope);
}

/** Every shown error (page, panel, view, dialog or beside a field) within `scope`, joined. Runs in the page. */
function shownErrors(scope: string): string {
  return Array.from(document.querySelectorAll<HTMLElement>(`${scope} [role="alert"]`))
    .filter((element) => !element.hidden && element.offsetParent !== null)
    .map((element) => element.textContent ?? '')
    .join(' ')
    .trim();
}

// The pages' CSP forbids eval, so page functions go as functions (not strings); each gets what it needs as arguments.
const errorsContain = ([scope, wanted]: readonly [string, string]) =>
  Array.from(document.querySelectorAll<HTMLElement>(`${scope} [role="alert"]`))
    .filter((element) => !element.hidden && element.offsetParent !== null)
    .map((element) => element.textContent ?? '')
    .join(' ')
    .includes(wanted);

/** Waits until some error is shown, and answers its text. */
export async function errorText(page: Page, scope = 'body'): Promise<string> {
  await page.waitForFunction(([selector]) => Array.from(document.querySelectorAll<HTMLElement>(`${selector} [role="alert"]`))
    .some((element) => !element.hidden && element.offsetParent !== null && (element.textContent ?? '') !== ''), [scope] as const, { timeout: 15_000 });
  return page.evaluate(shownErrors, scope);
}

/** Waits until a shown error contains `text`. */
export async function waitForError(page: Page, text: string, scope = 'body'): Promise<void> {
  await page.waitForFunction(errorsContain, [scope, text] as const, { timeout: 15_000 });
}

/** Waits until a status area says exactly `text` (or contains it, with `contains`). */
export async function waitForStatus(page: Page, text: string, options: { scope?: string; contains?: boolean } = {}): Promise<void> {
  await page.waitForFunction(
    ([selector, wanted, contains]) => Array.from(document.querySelectorAll(`${selector} [role="status"]`))
      .some((region) => (contains ? (region.textContent ?? '').includes(wanted as string) : region.textContent === wanted)),
    [options.scope ?? 'body', text, options.contains ?? false] as const,
    { timeout: 15_000 },
  );
}

/** The element is entirely inside the viewport as it is now: seen without scrolling. */
export async function expectInViewport(locator: Locator): Promise<void> {
  await locator.waitFor({ state: 'visible', timeout: 15_000 });
  const box = await locator.boundingBox();
  const viewport = locator.page().viewportSize();
  expect(box, 'the element has a box').not.toBeNull();
  expect(viewport).not.toBeNull();
  expect(box!.y, 'top edge in view').toBeGreaterThanOrEqual(0);
  expect(box!.x, 'left edge in view').toBeGreaterThanOrEqual(0);
  expect(box!.y + box!.height, 'bottom edge in view').toBeLessThanOrEqual(viewport!.height);
  expect(box!.x + box!.width, 'right edge in view').toBeLessThanOrEqual(viewport!.width);
}

const checkedStates = new Set<string>();

/** The tags axe checks: WCAG 2.0, 2.1 and 2.2, levels A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * axe-core over the page as it is now (`state` names it in the failure): no WCAG 2.2 A/AA
 * violation. Called at every state the journeys visit.
 */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  // A state several journeys pass through (the sign-up form) is checked once per file: its name says which.
  if (checkedStates.has(state)) return;
  checkedStates.add(state);
  // label-content-name-mismatch (WCAG 2.5.3) is experimental in axe, so off unless asked for.
  const results = await new AxeBuilder({ page })
    .options({ rules: { 'label-content-name-mismatch': { enabled: true } } })
    .withTags(WCAG_TAGS)
    .analyze();
  const violations = results.violations.map((violation) => ({
    rule: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.slice(0, 5).map((node) => `${node.target.join(' ')}: ${node.failureSummary ?? ''}`),
  }));
  expect(violations, `axe found WCAG 2.2 A/AA violations in "${state}"`).toEqual([]);
}

/**
 * After signing out with presence off: waits until the sign-in page's autofill request is waiting
 * at the authenticator, then lets the authenticator answer again — so the next request it answers
 * is the one the button makes, not the autofill (which would answer at once, see setPresence).
 */
export async function readyForButton(tab: BrowserTab): Promise<void> {
  await tab.page.waitForFunction(() => document.body.dataset.passkeyAutofill === 'waiting', undefined, { timeout: 15_000 });
  await tab.setPresence(true);
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectPath(page, '/');
}

let userCounter = 0;
export function uniqueUsername(prefix: string): string {
  userCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${userCounter}`;
}

/** Waits for the element to be visible (playwright-core has no `expect(locator)`). */
export async function expectVisible(locator: Locator): Promise<void> {
  await locator.waitFor({ state: 'visible', timeout: 15_000 });
}

export async function expectHidden(locator: Locator): Promise<void> {
  await locator.waitFor({ state: 'hidden', timeout: 15_000 });
}

// ——— Journeys shared by several tests ———

export const PASSWORD = 'correct horse battery staple 42';

export interface AppUser {
  username: string;
  password: string;
  /** The base32 key read off the page, as a person would type it into their app. */
  secret: string;
  backupCodes: string[];
}

/** The code an authenticator app shows now (the server's now). Moves the clock one step on first, so a code is never reused. */
export function nextCode(latch: Latch, user: AppUser): string {
  latch.clock.advance(30);
  return totp(user.secret, latch.clock.now());
}

/** Sign up with a passkey (the tab's virtual authenticator); lands on the account page. */
export async function signUpWithPasskey(page: Page, latch: Latch, username = uniqueUsername('pk')): Promise<string> {
  await page.goto(`${latch.url}/signup`);
  await expectView(page, 'passkey');
  await expectAccessible(page, 'sign-up: passkey');
  await page.locator('#username').fill(username);
  await page.getByRole('button', { name: 'Create account with a passkey' }).click();
  await expectAccountPage(page);
  await expectAccessible(page, 'account: after a passkey sign-up');
  return username;
}

/** Sign up with password + authenticator app: reads the manual key off the page, answers the code, saves the backup codes. */
export async function signUpWithAuthenticatorApp(page: Page, latch: Latch, options: { screenshots?: boolean; username?: string } = {}): Promise<AppUser> {
  const username = options.username ?? uniqueUsername('app');
  await page.goto(`${latch.url}/signup`);
  await expectView(page, 'passkey');
  await page.getByRole('button', { name: "My device can't use passkeys" }).click();
  await expectView(page, 'password');
  await expectAccessible(page, 'sign-up: password');
  await page.locator('#pw-username').fill(username);
  await page.locator('#new-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();

  await expectView(page, 'totp');
  await expectVisible(page.locator('img.qr'));
  const secret = (await page.locator('#signup-totp-secret').getAttribute('data-secret')) ?? '';
  expect(secret).toMatch(/^[A-Z2-7]+=*$/);
  const code = page.locator('#signup-totp-code');
  expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
  expect(await code.getAttribute('inputmode')).toBe('numeric');
  await expectAccessible(page, 'sign-up: authenticator app');
  if (options.screenshots) await screenshot(page, 'sign-up-authenticator-app');
  await code.fill(totp(secret, latch.clock.now()));
  await page.getByRole('button', { name: 'Confirm and create account' }).click();

  await expectView(page, 'codes');
  const backupCodes = (await page.locator('#backup-codes li').allTextContents()).map((text) => text.trim());
  expect(backupCodes.length).toBeGreaterThan(0);
  const proceed = page.locator('#codes-continue');
  expect(await proceed.isDisabled()).toBe(true);
  await expectAccessible(page, 'sign-up: backup codes');
  if (options.screenshots) await screenshot(page, 'sign-up-backup-codes');
  await page.getByLabel('I saved these codes').check();
  await proceed.click();
  await expectAccountPage(page);
  await expectAccessible(page, 'account: after an authenticator-app sign-up');
  return { username, password: PASSWORD, secret, backupCodes };
}

/** From the sign-in page: password, then the authenticator code. Leaves the page where the server sends it. */
export async function signInWithPasswordAndCode(page: Page, latch: Latch, user: AppUser, options: { remember?: boolean } = {}): Promise<void> {
  // The page picks its first view after it has asked for the current session: wait for that choice
  // (a browser without WebAuthn goes straight to the password view, with no button to press).
  await page.waitForFunction(() => document.body.dataset.currentView !== undefined, undefined, { timeout: 15_000 });
  if ((await page.evaluate(() => document.body.dataset.currentView)) !== 'password') {
    await page.getByRole('button', { name: 'Use password and authenticator code instead' }).click();
  }
  await expectView(page, 'password');
  await expectAccessible(page, 'sign-in: password');
  await page.locator('#pw-username').fill(user.username);
  await page.locator('#password').fill(user.password);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expectView(page, 'totp');
  await expectAccessible(page, 'sign-in: authenticator code');
  if (options.remember) await page.getByLabel('Remember this browser for 30 days').check();
  await page.locator('#totp-code').fill(nextCode(latch, user));
  await page.locator('#totp-submit').click();
}

/** The "Sign in faster next time" invitation, when it comes: not now. */
export async function skipPasskeyInvite(page: Page): Promise<void> {
  await expectView(page, 'invite');
  await expectAccessible(page, 'sign-in: passkey invitation');
  await page.getByRole('button', { name: 'Not now' }).click();
  await expectAccountPage(page);
}
