import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * oidc-provider (with Koa), nodemailer and qrcode take about 65 MB of a process's memory between
 * them; they are loaded with their first use (src/oidc/provider.ts, src/notifications/transport.ts,
 * src/factors/totp.ts), so an instance that has not served an OpenID Connect request, sent a mail
 * or shown a QR code does not carry them. Checked in a fresh process: vitest's own has loaded
 * whatever other test files needed. Koa, nodemailer and qrcode are CommonJS, so Node's module
 * cache names them once they are loaded.
 */
const script = `
import { createRequire } from 'node:module';
import { createApp } from './src/app.ts';
import { loadConfig } from './src/config.ts';
import { generateKeyring } from './src/crypto/keyring.ts';
import { openEmbedded } from './src/db/database.ts';
import { migrateToLatest } from './src/db/migrate.ts';
import { silentLogger } from './src/logger.ts';
import { systemClock } from './src/clock.ts';
import { createOidc } from './src/oidc/provider.ts';
const loaded = () => {
  const cache = Object.keys(createRequire(import.meta.url).cache);
  return Object.fromEntries(['koa', 'nodemailer', 'qrcode'].map((name) => [name, cache.some((path) => path.includes('/node_modules/' + name + '/'))]));
};
const { db } = await openEmbedded(null);
await migrateToLatest(db);
const deps = { db, config: loadConfig({ LATCH_ORIGINS: 'http://localhost:3000', LATCH_SMTP_URL: 'smtp://127.0.0.1:2525' }), keyring: generateKeyring(), clock: systemClock, logger: silentLogger };
const oidc = createOidc(deps);
createApp({ ...deps, oidc });
const atStart = loaded();
// What the first request under /oidc does (its handler needs a real socket, so not app.request).
const provider = await oidc.provider();
const afterOidc = { issuer: provider.issuer, ...loaded() };
console.log(JSON.stringify({ atStart, afterOidc }));
await db.destroy();
`;

describe('modules loaded on first use', () => {
  it('memory-held-by-unused-modules: an app that has served nothing has not loaded oidc-provider, nodemailer or qrcode; the first OpenID Connect request loads the provider', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
    const { atStart, afterOidc } = JSON.parse(output.trim().split('\n').at(-1)!) as { atStart: Record<string, boolean>; afterOidc: Record<string, boolean | string> };
    expect(atStart).toEqual({ koa: false, nodemailer: false, qrcode: false });
    expect(afterOidc).toMatchObject({ issuer: 'http://localhost:3000/oidc', koa: true, nodemailer: false });
  });
});
