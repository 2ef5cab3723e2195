/**
 * The passkey adoption chart: a line of users with a passkey per day, drawn as SVG in the page (no
 * chart library). It is drawn for the width it gets (redrawn when that changes), so the labels keep
 * their size on a 375 px phone instead of shrinking with a scaled viewBox. Screen readers get a
 * <title> and <desc>; the same figures are in a table beside it.
 */

export interface Point {
  day: string;
  usersWithPasskey: number;
}

export interface ChartGeometry {
  width: number;
  height: number;
  plot: { left: number; right: number; top: number; bottom: number };
  /** The y-axis ticks, 0 to the top, with their position. */
  ticks: Array<{ value: number; y: number }>;
  points: Array<{ x: number; y: number; day: string; value: number }>;
}

/** A round top for the axis: 1, 2 or 5 times a power of ten, at least the largest value. */
export function niceMax(value: number): number {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export function chartGeometry(series: readonly Point[], width: number, height = 220): ChartGeometry {
  const plot = { left: 48, right: width - 12, top: 12, bottom: height - 28 };
  const top = niceMax(Math.max(0, ...series.map((point) => point.usersWithPasskey)));
  const y = (value: number) => plot.bottom - (value / top) * (plot.bottom - plot.top);
  const step = series.length > 1 ? (plot.right - plot.left) / (series.length - 1) : 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    width,
    height,
    plot,
    ticks: [0, 0.25, 0.5, 0.75, 1].map((share) => ({ value: Math.round(top * share), y: round(y(top * share)) })),
    points: series.map((point, index) => ({ x: round(plot.left + index * step), y: round(y(point.usersWithPasskey)), day: point.day, value: point.usersWithPasskey })),
  };
}

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
export function dayLabel(day: string): string {
  return shortDay.format(new Date(`${day}T00:00:00Z`));
}

/** Draws the chart into `container` (replacing what was there) for the container's width now. */
export function drawAdoptionChart(container: HTMLElement, series: readonly Point[]): SVGSVGElement {
  const width = Math.max(280, Math.floor(container.clientWidth || 600));
  const geometry = chartGeometry(series, width);
  const first = series[0];
  const last = series.at(-1);
  const root = svg('svg', {
    width: geometry.width,
    height: geometry.height,
    viewBox: `0 0 ${geometry.width} ${geometry.height}`,
    role: 'img',
    'aria-labelledby': 'adoption-chart-title adoption-chart-desc',
    class: 'chart',
    id: 'adoption-chart',
  });
  root.append(
    svg('title', { id: 'adoption-chart-title' }, 'Users with a passkey, per day'),
    svg(
      'desc',
      { id: 'adoption-chart-desc' },
      first && last
        ? `From ${dayLabel(first.day)} to ${dayLabel(last.day)}: ${first.usersWithPasskey} to ${last.usersWithPasskey} users with a passkey. The table below has every day's figure.`
        : 'No figures yet.',
    ),
  );
  const axes = svg('g', { class: 'chart-axes', 'aria-hidden': 'true' });
  for (const tick of geometry.ticks) {
    axes.append(
      svg('line', { x1: geometry.plot.left, x2: geometry.plot.right, y1: tick.y, y2: tick.y, class: 'chart-grid' }),
      svg('text', { x: geometry.plot.left - 6, y: tick.y + 4, 'text-anchor': 'end', class: 'chart-label' }, String(tick.value)),
    );
  }
  // Three dates under the axis (first, middle, last): enough to read the span on a phone.
  const labelled = geometry.points.length > 2 ? [0, Math.floor((geometry.points.length - 1) / 2), geometry.points.length - 1] : geometry.points.map((_, index) => index);
  for (const index of labelled) {
    const point = geometry.points[index]!;
    const anchor = index === 0 ? 'start' : index === geometry.points.length - 1 ? 'end' : 'middle';
    axes.append(svg('text', { x: point.x, y: geometry.height - 8, 'text-anchor': anchor, class: 'chart-label' }, dayLabel(point.day)));
  }
  root.append(axes);
  const line = svg('g', { class: 'chart-series', 'aria-hidden': 'true' });
  line.append(svg('polyline', { points: geometry.points.map((point) => `${point.x},${point.y}`).join(' '), class: 'chart-line', fill: 'none' }));
  for (const point of geometry.points) line.append(svg('circle', { cx: point.x, cy: point.y, r: 2.5, class: 'chart-point', 'data-day': point.day, 'data-value': point.value }));
  root.append(line);
  container.replaceChildren(root);
  return root;
}
