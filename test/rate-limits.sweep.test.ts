import { describe, expect, it } from 'vitest';
import { addSeconds } from '../src/clock.ts';
import { deleteExpiredRateLimits, hitRateLimit } from '../src/rate-limits/rate-limits.ts';
import { createTestApp } from './helpers/app.ts';

const t = await createTestApp();

async function keys() {
  return (await t.db.selectFrom('rate_limits').select('key').orderBy('key').execute()).map((row) => row.key);
}

describe('rate-limit rows do not pile up forever', () => {
  it('the sweep deletes rows whose window (the longest any rule uses: 24 h) and lock have both passed, and keeps the rest', async () => {
    const start = t.clock.now();
    const rule = { limit: 2, windowSeconds: 60, lockoutSeconds: 2 * 24 * 3600 };
    await hitRateLimit(t.db, 'sweep:old-unlocked', { ...rule, limit: 100 }, start);
    await hitRateLimit(t.db, 'sweep:old-locked', rule, start);
    await hitRateLimit(t.db, 'sweep:old-locked', rule, start); // locked for two days
    const later = addSeconds(start, 24 * 3600 + 60);
    await hitRateLimit(t.db, 'sweep:recent', { ...rule, limit: 100 }, addSeconds(later, -3600));

    expect(await deleteExpiredRateLimits(t.db, later)).toBe(1);
    expect(await keys()).toEqual(['sweep:old-locked', 'sweep:recent']);

    // Once its lock has ended too, the locked row goes.
    expect(await deleteExpiredRateLimits(t.db, addSeconds(start, 2 * 24 * 3600 + 1))).toBe(2);
    expect(await keys()).toEqual([]);
  });

  it('a row inside the longest window is kept even when its own (shorter) rule has moved on', async () => {
    const start = t.clock.now();
    await hitRateLimit(t.db, 'sweep:account-ceiling', { limit: 20, windowSeconds: 24 * 3600, lockoutSeconds: 3600 }, start);
    expect(await deleteExpiredRateLimits(t.db, addSeconds(start, 23 * 3600))).toBe(0);
    expect(await keys()).toContain('sweep:account-ceiling');
  });
});
