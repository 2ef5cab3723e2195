import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/e2e runs here too: its files skip themselves, saying how to run them, when there is no
    // Chromium (unless LATCH_REQUIRE_BROWSER=1, as in CI). `npm run test:e2e` runs only them.
    include: ['test/**/*.test.ts'],
    exclude: ['node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker per core less one: a single worker on a two-core machine,
    // which leaves a core idle while a file waits on PostgreSQL, Chromium or a child server.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
