import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

export interface LatchProcess {
  child: ChildProcess;
  url: string;
  /** Every line written so far (stdout and stderr). */
  lines: string[];
  /** Resolves with the first line (already written or to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Production-style keys for a server on PostgreSQL; share them between instances of one database. */
export function productionKeys(): Record<string, string> {
  return { LATCH_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`, LATCH_HMAC_KEY: randomBytes(32).toString('base64') };
}

/**
 * Starts Latch as its own process (`node dist/main.js`, or the TypeScript through tsx) on a free
 * port and waits for the line that prints its URL.
 */
export async function spawnLatch(options: { env: Record<string, string>; compiled?: boolean; startTimeoutMs?: number }): Promise<LatchProcess> {
  const args = options.compiled ? ['--enable-source-maps', 'dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: REPOSITORY,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', LATCH_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
      for (const listener of listeners) listener();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  function waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = lines.find((candidate) => pattern.test(candidate));
        if (line !== undefined) {
          cleanup();
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.join('\n')}`));
      }, timeoutMs);
      const onExit = () => {
        check();
        cleanup();
        reject(new Error(`the process exited before a line matching ${pattern}; output:\n${lines.join('\n')}`));
      };
      function cleanup() {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      }
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });
  }

  let url: string;
  try {
    const line = await waitForLine(/Latch is running: open (\S+)/, options.startTimeoutMs ?? 90_000);
    url = /open (\S+)/.exec(line)![1]!;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    url,
    lines,
    waitForLine,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
