import type { Logger } from './logger.ts';

/**
 * Work a request starts but does not wait for: the answer goes out first, the work runs after.
 * For answers that must not depend on what the work finds (POST /api/recovery/self answers the
 * same, in the same time, whether or not the account exists). Failures are logged by name, never
 * thrown at anyone; `settled()` lets shutdown and tests wait for what is still running.
 */
export interface DeferredWork {
  run(name: string, work: () => Promise<unknown>): void;
  settled(): Promise<void>;
}

export function createDeferredWork(logger: Logger): DeferredWork {
  const running = new Set<Promise<void>>();
  return {
    run(name, work) {
      // A macrotask later: nothing of the work (not even its first statement) runs before the answer is on its way.
      const task = new Promise<void>((resolve) => setImmediate(resolve))
        .then(work)
        .then(
          () => undefined,
          (error: Error) => logger.warn('deferred work failed', { work: name, errorName: error.name }),
        )
        .finally(() => running.delete(task));
      running.add(task);
    },
    async settled() {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
