import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Keyring } from '../src/crypto/keyring.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Processes per server (node:cluster), Latch's and the reference's alike; the embedded database allows only one. */
const BENCH_WORKERS = String(Number(process.env.BENCH_WORKERS ?? 1) || 1);
export const REFERENCE_SOURCE = resolve(ROOT, '..', 'shared', 'perf-reference');
const REFERENCE_FALLBACK_SOURCE = '/work/shared/perf-reference';
/** A copy of the reference with its own node_modules: never committed (bench/.reference-cache is ignored). */
const REFERENCE_CACHE = join(ROOT, 'bench', '.reference-cache');

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Where the reference lives, if it is there. */
export function referenceSource(): string | null {
  if (existsSync(join(REFERENCE_SOURCE, 'server.mjs'))) return REFERENCE_SOURCE;
  if (existsSync(join(REFERENCE_FALLBACK_SOURCE, 'server.mjs'))) return REFERENCE_FALLBACK_SOURCE;
  return null;
}

/** Copies the reference (read-only in the shared folder) and installs its dependencies once. */
export function prepareReference(source: string): string {
  mkdirSync(REFERENCE_CACHE, { recursive: true });
  for (const file of ['server.mjs', 'package.json', 'seed.mjs', 'load.mjs', 'README.md']) {
    if (existsSync(join(source, file))) cpSync(join(source, file), join(REFERENCE_CACHE, file));
  }
  if (!existsSync(join(REFERENCE_CACHE, 'node_modules', 'hono'))) {
    console.log(`installing the reference's dependencies in ${REFERENCE_CACHE} …`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent'], { cwd: REFERENCE_CACHE, stdio: 'inherit' });
  }
  return REFERENCE_CACHE;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolveLine, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        child.stdout!.off('data', onData);
        resolveLine(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolveStop) => {
      if (child.exitCode !== null) return resolveStop();
      child.once('exit', () => resolveStop());
      child.kill('SIGTERM');
    });
}

/** Latch as `npm start` runs it (the compiled dist/main.js, which `npm run bench` builds first), on a free port, behind a trusted proxy header. */
export async function startLatch(options: { databaseUrl: string | null; dataDir: string | null; keyring: Keyring; origin: string; nodeArgs?: string[] }): Promise<ServerProcess> {
  const port = await freePort();
  const key = options.keyring.encryptionKeys.get(options.keyring.activeKeyId)!;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCH_ORIGINS: options.origin,
    // Every virtual user presents its own address, as clients do behind a reverse proxy.
    LATCH_TRUST_PROXY: 'true',
    // One line per request at info level goes to a pipe nobody reads; warnings still show.
    LATCH_LOG_LEVEL: 'warn',
    LATCH_ENCRYPTION_KEYS: `${options.keyring.activeKeyId}:${key.toString('base64')}`,
    LATCH_HMAC_KEY: options.keyring.hmacKey.toString('base64'),
    WORKERS: options.databaseUrl ? BENCH_WORKERS : '1',
  };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.dataDir) env.LATCH_DATA_DIR = options.dataDir;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'dist/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[latch] ${chunk}`));
  await waitForLine(child, /Latch is running/, 'Latch');
  child.stdout!.resume();
  return { child, pid: child.pid!, port, stop: stopper(child) };
}

export async function startReference(directory: string, databaseUrl: string, nodeArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'server.mjs'], {
    cwd: directory,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), REF_DATABASE_URL: databaseUrl, WORKERS: BENCH_WORKERS, POOL: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[reference] ${chunk}`));
  await waitForLine(child, /listening on/, 'the reference server');
  child.stdout!.resume();
  return { child, pid: child.pid!, port, stop: stopper(child) };
}
