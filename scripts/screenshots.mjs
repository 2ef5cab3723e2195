// Refreshes the README's screenshots (docs/screenshots/*.png) at 1280×800 and 375×740:
// builds the client, then runs test/e2e/screenshots.test.ts with LATCH_DOCS_SCREENSHOTS=1.
//   node scripts/screenshots.mjs
import { spawnSync } from 'node:child_process';

const run = (command, args, env = {}) => {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('node', ['scripts/build-client.mjs']);
run('npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts', 'test/e2e/screenshots.test.ts'], { LATCH_DOCS_SCREENSHOTS: '1' });
