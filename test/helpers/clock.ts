import type { Clock } from '../../src/clock.ts';

export interface FakeClock extends Clock {
  set(date: Date | string): void;
  advance(seconds: number): void;
}

export function fakeClock(start: Date | string = '2026-11-22T10:00:00.000Z'): FakeClock {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set(date) {
      current = new Date(date);
    },
    advance(seconds) {
      current = new Date(current.getTime() + seconds * 1000);
    },
  };
}
