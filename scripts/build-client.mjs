// Bundles the browser client (public/src/*.ts) into public/build/ with esbuild.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';

const entries = existsSync('public/src')
  ? readdirSync('public/src').filter((name) => /^[a-z-]+\.page\.ts$/.test(name)).map((name) => `public/src/${name}`)
  : [];
if (entries.length > 0) {
  await build({
    entryPoints: entries,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outdir: 'public/build',
    entryNames: '[name]',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
}
