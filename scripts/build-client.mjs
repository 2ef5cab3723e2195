// Bundles the browser client (public/src/*.page.ts) into public/build/ with esbuild: content-hashed
// names ([name]-[hash].js) listed in public/build/manifest.json, which the server uses to point the
// pages at them (src/http/static-files.ts). Source maps only outside production (NODE_ENV=production).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const production = process.env.NODE_ENV === 'production';
const entries = existsSync('public/src')
  ? readdirSync('public/src').filter((name) => /^[a-z-]+\.page\.ts$/.test(name)).map((name) => `public/src/${name}`)
  : [];
// Old hashed files would pile up (and a stale map could be served): start from an empty folder.
rmSync('public/build', { recursive: true, force: true });
mkdirSync('public/build', { recursive: true });
if (entries.length > 0) {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outdir: 'public/build',
    entryNames: '[name]-[hash]',
    minify: true,
    sourcemap: production ? false : 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const manifest = {};
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint || !output.endsWith('.js')) continue;
    manifest[`${basename(meta.entryPoint, '.ts')}.js`] = basename(output);
  }
  writeFileSync('public/build/manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
}
