import { CookieJar, type HttpClient } from './client.ts';
import type { VirtualUser } from './load.ts';
import { assert, BENCH_PASSWORD, totpCode, type BenchUser, type TotpUser } from './seed.ts';

/**
 * The operations each virtual user repeats, against Latch (the product's real routes, with CSRF,
 * rate limits, policy and audit on) and against the reference (its /begin, /finish, /session).
 * Latch's state-changing requests carry the headers a browser sends: Origin and
 * Sec-Fetch-Site: same-origin. Each request presents its own client address through
 * X-Forwarded-For (Latch runs with LATCH_TRUST_PROXY=true), as clients behind a reverse proxy do,
 * so the per-address limits count each client — not the one load generator — and stay on.
 */

export const LATCH_ORIGIN = 'http://localhost:3000';
export const REFERENCE_ORIGIN = 'http://localhost';
export const RP_ID = 'localhost';

let addressCounter = 0;
/** A fresh client address per operation: 10.0.0.1, 10.0.0.2, … (16 million before it wraps). */
function nextAddress(): string {
  const n = ++addressCounter % 16_777_216;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function browserHeaders(address: string, jar?: CookieJar): Record<string, string> {
  const headers: Record<string, string> = { origin: LATCH_ORIGIN, 'sec-fetch-site': 'same-origin', 'x-forwarded-for': address };
  const cookie = jar?.header();
  if (cookie) headers.cookie = cookie;
  return headers;
}

function expect(reply: { status: number; body: any }, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what} answered ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
}

/** One passkey sign-in on Latch (discoverable options, then verify); the jar receives the session cookie. */
export async function latchPasskeySignIn(client: HttpClient, user: BenchUser, jar: CookieJar, mark: (ms: number) => void = () => {}): Promise<boolean> {
  const address = nextAddress();
  const options = await client.request('POST', '/api/signin/passkey/options', { body: {}, headers: browserHeaders(address, jar) });
  expect(options, 200, 'passkey options');
  const response = assert(user.passkey, options.body.options.challenge, LATCH_ORIGIN, RP_ID);
  const t0 = performance.now();
  const verify = await client.request('POST', '/api/signin/passkey/verify', { body: { ceremonyId: options.body.ceremonyId, response }, headers: browserHeaders(address, jar) });
  mark(performance.now() - t0);
  expect(verify, 200, 'passkey verify');
  jar.take(verify.setCookie);
  return true;
}

export async function referencePasskeySignIn(client: HttpClient, user: BenchUser, jar: CookieJar, mark: (ms: number) => void = () => {}): Promise<boolean> {
  const begin = await client.request('POST', '/begin', { body: {} });
  expect(begin, 200, 'reference begin');
  const response = assert(user.passkey, begin.body.options.challenge, REFERENCE_ORIGIN, RP_ID);
  const t0 = performance.now();
  const finish = await client.request('POST', '/finish', { body: { challengeId: begin.body.challengeId, response } });
  mark(performance.now() - t0);
  expect(finish, 200, 'reference finish');
  jar.take(finish.setCookie);
  return true;
}

/** Virtual users that each cycle through their own slice of the users. */
export function passkeyUsers(client: HttpClient, users: BenchUser[], concurrency: number, system: 'latch' | 'reference'): VirtualUser[] {
  const perUser = Math.max(1, Math.floor(users.length / concurrency));
  return Array.from({ length: concurrency }, (_, k) => {
    const mine = users.slice(k * perUser, (k + 1) * perUser);
    let next = 0;
    return {
      run: (mark) => {
        const user = mine[next++ % mine.length]!;
        // A fresh browser each time: no session cookie to end first, as at a real first sign-in.
        return (system === 'latch' ? latchPasskeySignIn : referencePasskeySignIn)(client, user, new CookieJar(), mark);
      },
    };
  });
}

/** Signed-in browsers (one per virtual user) for the session-check and step-up scenarios. */
export async function signedInJars(client: HttpClient, users: BenchUser[], system: 'latch' | 'reference'): Promise<CookieJar[]> {
  const jars: CookieJar[] = [];
  for (const user of users) {
    const jar = new CookieJar();
    await (system === 'latch' ? latchPasskeySignIn : referencePasskeySignIn)(client, user, jar);
    jars.push(jar);
  }
  return jars;
}

export function sessionCheckUsers(client: HttpClient, jars: CookieJar[], system: 'latch' | 'reference'): VirtualUser[] {
  const path = system === 'latch' ? '/api/session' : '/session';
  return jars.map((jar) => {
    const address = nextAddress();
    return {
      run: async () => {
        const headers: Record<string, string> = { cookie: jar.header() ?? '' };
        if (system === 'latch') headers['x-forwarded-for'] = address;
        const reply = await client.request('GET', path, { headers });
        expect(reply, 200, 'session check');
        return true;
      },
    };
  });
}

/** Passkey step-up in a signed-in session: options for the user's passkeys, then verify; the token rotates. */
export function stepUpUsers(client: HttpClient, users: BenchUser[], jars: CookieJar[]): VirtualUser[] {
  return jars.map((jar, k) => ({
    run: async (mark) => {
      const address = nextAddress();
      const options = await client.request('POST', '/api/step-up/passkey/options', { body: {}, headers: browserHeaders(address, jar) });
      expect(options, 200, 'step-up options');
      const response = assert(users[k]!.passkey, options.body.options.challenge, LATCH_ORIGIN, RP_ID);
      const t0 = performance.now();
      const verify = await client.request('POST', '/api/step-up/passkey/verify', { body: { ceremonyId: options.body.ceremonyId, response }, headers: browserHeaders(address, jar) });
      mark(performance.now() - t0);
      expect(verify, 200, 'step-up verify');
      jar.take(verify.setCookie);
      return true;
    },
  }));
}

/**
 * Password + TOTP sign-in. A code is good once per 30-second step, so each virtual user takes the
 * next of its users whose code for this step is unspent, and waits for the next step when none is.
 */
export function passwordTotpUsers(client: HttpClient, users: TotpUser[], concurrency: number): VirtualUser[] {
  const perUser = Math.max(1, Math.floor(users.length / concurrency));
  return Array.from({ length: concurrency }, (_, k) => {
    const mine = users.slice(k * perUser, (k + 1) * perUser);
    let next = 0;
    return {
      run: async (mark) => {
        let user: TotpUser | null = null;
        let step = Math.floor(Date.now() / 30_000);
        while (!user) {
          step = Math.floor(Date.now() / 30_000);
          for (let i = 0; i < mine.length && !user; i++) {
            const candidate = mine[(next + i) % mine.length]!;
            if (candidate.lastStep < step) {
              user = candidate;
              next = (next + i + 1) % mine.length;
            }
          }
          // Every code of this step spent: wait for the next step (this shows as lower throughput, not as errors).
          if (!user) await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() % 30_000) + 50));
        }
        const address = nextAddress();
        const t0 = performance.now();
        const password = await client.request('POST', '/api/signin/password', { body: { username: user.username, password: BENCH_PASSWORD }, headers: browserHeaders(address) });
        mark(performance.now() - t0);
        expect(password, 200, 'password step');
        step = Math.floor(Date.now() / 30_000);
        user.lastStep = step;
        const code = await client.request('POST', '/api/signin/totp', { body: { ticket: password.body.ticket, code: totpCode(user.secret, step) }, headers: browserHeaders(address) });
        expect(code, 200, 'TOTP step');
        return true;
      },
    };
  });
}
