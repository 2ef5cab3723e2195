// Compiles the server (src/main.ts → dist/main.js) and, when it exists, the CLI
// (src/cli/main.ts → dist/cli.js) to plain JavaScript for `node`: one ESM bundle each, with the
// packages in node_modules left as imports (the production image installs them with
// `npm ci --omit=dev`). Migrations are bundled (migrations/index.ts imports them statically).
// dist/ sits beside public/, as src/ does, so `new URL('../public', import.meta.url)` finds the pages.
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';

const entryPoints = { main: 'src/main.ts' };
if (existsSync('src/cli/main.ts')) entryPoints.cli = 'src/cli/main.ts';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  // Stack frames in logs then point at src/ (node --enable-source-maps), not at the bundle.
  sourcesContent: false,
  logLevel: 'warning',
});
process.stdout.write(`built ${Object.keys(entryPoints).map((name) => `dist/${name}.js`).join(', ')}\n`);
