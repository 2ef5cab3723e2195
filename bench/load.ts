/**
 * The closed loop: C virtual users, each starting its next operation as soon as the last one
 * answered, for a fixed time after a warm-up. An operation that fails counts as an error (not in
 * the latencies); the first few errors are kept to be printed, so a broken scenario says why.
 */

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  opsPerSecond: number;
  /** Whole operation, ms. */
  p50: number;
  p90: number;
  p99: number;
  /** A named part of the operation (e.g. the verify request), when the scenario times one. */
  partP99: number | null;
  sampleErrors: string[];
}

export interface VirtualUser {
  /** One operation; throws (or returns false) when it failed. `mark(ms)` records the timed part. */
  run(mark: (ms: number) => void): Promise<boolean>;
}

export async function closedLoop(
  users: VirtualUser[],
  options: { warmupSeconds: number; seconds: number; onStart?: () => Promise<void> | void; onEnd?: () => Promise<void> | void },
): Promise<LoadResult> {
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  let ops = 0;
  let errors = 0;
  const latencies: number[] = [];
  const parts: number[] = [];
  const sampleErrors: string[] = [];
  let started = 0;

  const loop = async (user: VirtualUser) => {
    while (phase !== 'stop') {
      const t0 = performance.now();
      let part: number | null = null;
      let ok: boolean;
      try {
        ok = await user.run((ms) => (part = ms));
      } catch (error) {
        ok = false;
        if (sampleErrors.length < 5) sampleErrors.push(String((error as Error).message ?? error));
      }
      // Throughput counts the operations that end inside the measured window, whenever they began.
      if (phase !== 'measure') continue;
      if (ok) {
        ops++;
        latencies.push(performance.now() - t0);
        if (part !== null) parts.push(part);
      } else {
        errors++;
      }
    }
  };
  const running = users.map(loop);
  await sleep(options.warmupSeconds * 1000);
  await options.onStart?.();
  phase = 'measure';
  started = performance.now();
  await sleep(options.seconds * 1000);
  phase = 'stop';
  const seconds = (performance.now() - started) / 1000;
  await options.onEnd?.();
  await Promise.all(running);

  latencies.sort((a, b) => a - b);
  parts.sort((a, b) => a - b);
  return {
    ops,
    errors,
    seconds,
    opsPerSecond: ops / seconds,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
    partP99: parts.length > 0 ? percentile(parts, 0.99) : null,
    sampleErrors,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
}

export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
