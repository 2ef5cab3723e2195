import { describe, expect, it } from 'vitest';
import { chartGeometry, niceMax } from '../public/src/adoption-chart.ts';

/** The chart's geometry (public/src/adoption-chart.ts): where each day's point goes, and the axis. */
describe('adoption chart geometry', () => {
  it('a round axis top at or above the largest value', () => {
    expect([0, 3, 4, 5, 9, 10, 11, 19, 20, 21, 99, 101, 480, 99_999].map(niceMax)).toEqual([4, 4, 4, 5, 10, 10, 20, 20, 20, 50, 100, 200, 500, 100_000]);
  });

  it('one point per day, left to right, evenly spaced; value 0 on the baseline, the top value at the top tick', () => {
    const series = [
      { day: '2026-11-20', usersWithPasskey: 0 },
      { day: '2026-11-21', usersWithPasskey: 5 },
      { day: '2026-11-22', usersWithPasskey: 10 },
    ];
    const geometry = chartGeometry(series, 360, 220);
    expect(geometry.plot).toEqual({ left: 48, right: 348, top: 12, bottom: 192 });
    expect(geometry.points).toEqual([
      { x: 48, y: 192, day: '2026-11-20', value: 0 },
      { x: 198, y: 102, day: '2026-11-21', value: 5 },
      { x: 348, y: 12, day: '2026-11-22', value: 10 },
    ]);
    expect(geometry.ticks.map((tick) => tick.value)).toEqual([0, 3, 5, 8, 10]);
    expect(geometry.ticks.at(-1)!.y).toBe(12);
  });

  it('an empty or flat series stays inside the plot', () => {
    expect(chartGeometry([], 300).points).toEqual([]);
    const flat = chartGeometry([{ day: '2026-11-22', usersWithPasskey: 0 }], 300);
    expect(flat.points).toEqual([{ x: 48, y: 192, day: '2026-11-22', value: 0 }]);
  });
});
