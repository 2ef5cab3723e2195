import { describe, expect, it } from 'vitest';
import { checkAndHitRateLimit, checkRateLimit, hitRateLimit, resetRateLimits } from '../src/rate-limits/rate-limits.ts';
import { createTestApp } from './helpers/app.ts';

const t = await createTestApp();
const rule = { limit: 5, windowSeconds: 900, lockoutSeconds: 900 };

describe('rate limits in the database', () => {
  it('locks a key after the limit within the window, for the lockout time', async () => {
    const key = 'test:lock';
    for (let i = 1; i < 5; i++) expect((await hitRateLimit(t.db, key, rule, t.clock.now())).locked).toBe(false);
    const fifth = await hitRateLimit(t.db, key, rule, t.clock.now());
    expect(fifth).toMatchObject({ locked: true, count: 5 });
    expect((await checkRateLimit(t.db, key, new Date(t.clock.now().getTime() + 899_000))).locked).toBe(true);
    expect((await checkRateLimit(t.db, key, new Date(t.clock.now().getTime() + 901_000))).locked).toBe(false);
  });

  it('starts a new window once the old one has passed', async () => {
    const key = 'test:window';
    for (let i = 0; i < 4; i++) await hitRateLimit(t.db, key, rule, t.clock.now());
    const later = new Date(t.clock.now().getTime() + 901_000);
    expect(await hitRateLimit(t.db, key, rule, later)).toMatchObject({ locked: false, count: 1 });
  });

  it('a success (reset) clears the counts of the keys named and no other', async () => {
    const keys = ['test:reset-a', 'test:reset-b'];
    for (const key of [...keys, 'test:reset-other']) for (let i = 0; i < 4; i++) await hitRateLimit(t.db, key, rule, t.clock.now());
    await resetRateLimits(t.db, keys);
    for (const key of keys) expect(await checkRateLimit(t.db, key, t.clock.now())).toEqual({ locked: false, lockedUntil: null, count: 0 });
    expect((await checkRateLimit(t.db, 'test:reset-other', t.clock.now())).count).toBe(4);
    await resetRateLimits(t.db, []); // nothing to clear: no statement, no error
  });

  it('concurrent hits from several instances all count', async () => {
    const key = 'test:concurrent';
    const handles = [t.db, t.database.connectAgain(), t.database.connectAgain()];
    await Promise.all(Array.from({ length: 9 }, (_, i) => hitRateLimit(handles[i % 3]!, key, { ...rule, limit: 100 }, t.clock.now())));
    expect((await checkRateLimit(t.database.connectAgain(), key, t.clock.now())).count).toBe(9);
  });

  it('check-and-hit (one statement): allows up to the limit, refuses past it, and a locked key is refused without counting or extending the lock', async () => {
    const key = 'test:check-and-hit';
    const now = t.clock.now();
    for (let i = 1; i <= 5; i++) expect(await checkAndHitRateLimit(t.db, key, rule, now)).toMatchObject({ allowed: true, state: { count: i } });
    // The fifth hit reached the limit and started the lock: the sixth is refused, uncounted.
    const sixth = await checkAndHitRateLimit(t.db, key, rule, new Date(now.getTime() + 1000));
    expect(sixth.allowed).toBe(false);
    expect(sixth.state.lockedUntil?.getTime()).toBe(now.getTime() + 900_000);
    expect((await checkRateLimit(t.db, key, now)).count).toBe(5);
    // Past the lock, the window has passed too: counting starts over.
    expect(await checkAndHitRateLimit(t.db, key, rule, new Date(now.getTime() + 901_000))).toMatchObject({ allowed: true, state: { count: 1, locked: false } });
  });

  it('check-and-hit: a burst of concurrent requests lets exactly the limit through', async () => {
    const key = 'test:check-and-hit-burst';
    const handles = [t.db, t.database.connectAgain(), t.database.connectAgain()];
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => checkAndHitRateLimit(handles[i % 3]!, key, rule, t.clock.now())));
    expect(answers.filter((answer) => answer.allowed)).toHaveLength(5);
  });
});
