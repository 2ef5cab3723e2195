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
  },
});
