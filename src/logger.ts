import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/**
 * Structured logs through pino, one JSON object per line (readable, via pino-pretty, on a
 * terminal). Callers pass fields, never raw bodies, tokens or codes: what is logged is chosen
 * field by field. As a second line of defence every field whose name says it carries a secret
 * (password, code, token, cookie, a WebAuthn `response`, …) is replaced by "[redacted]" at any
 * depth before pino sees it.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line carries `bindings` (e.g. the request id); redacted like any field. */
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Readable lines (pino-pretty) instead of JSON. Default: stdout is a terminal and NODE_ENV is not production. */
  pretty?: boolean;
}

export const REDACTED = '[redacted]';

/** Field names (lower-cased, without `-`/`_`) whose value is a secret or may contain one. */
const secretFieldNames = new Set([
  'password', 'newpassword', 'currentpassword', 'passwordhash',
  'code', 'codes', 'backupcode', 'backupcodes', 'otp', 'totp',
  'token', 'sessiontoken', 'devicetoken', 'ticket', 'ceremonyid',
  'secret', 'secretsealed', 'otpauthuri', 'otpauth', 'qrcode', 'manualkey',
  'cookie', 'setcookie', 'cookies', 'authorization', 'proxyauthorization',
  'response', 'clientdatajson', 'authenticatordata', 'attestationobject', 'signature', 'userhandle',
  'publickey', 'privatekey', 'hmackey', 'encryptionkeys', 'key', 'keys',
  'body', 'rawbody', 'databaseurl', 'connectionstring',
]);
const secretFieldSuffixes = ['password', 'secret', 'token', 'cookie', 'authorization', 'otpauthuri', 'backupcodes', 'privatekey', 'apikey'];

export function isSecretField(name: string): boolean {
  const normalised = name.toLowerCase().replace(/[-_]/g, '');
  return secretFieldNames.has(normalised) || secretFieldSuffixes.some((suffix) => normalised.endsWith(suffix));
}

const MAX_DEPTH = 6;

/** A copy of `value` with every secret-named field replaced, at any depth (cycles and depth bounded). */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  if (value instanceof Error) return { errorName: value.name };
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Headers) return redact(Object.fromEntries(value.entries()), depth, seen);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = isSecretField(key) ? REDACTED : redact(item, depth + 1, seen);
  }
  return copy;
}

function wrap(target: PinoLogger): Logger {
  const at = (level: Exclude<LogLevel, 'silent'>) => (message: string, fields?: Record<string, unknown>) => {
    if (!target.isLevelEnabled(level)) return;
    if (fields) target[level](redact(fields) as object, message);
    else target[level](message);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => wrap(target.child(redact(bindings) as Record<string, unknown>)),
  };
}

const require = createRequire(import.meta.url);

/** pino-pretty is a development dependency: absent from the production image, where logs are JSON anyway. */
function prettyStream(): DestinationStream | null {
  try {
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
    return pretty({ colorize: true, messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return null;
  }
}

/**
 * `write` receives each line (without its newline); by default lines go to stdout. Tests pass
 * `write` to capture them.
 */
export function createLogger(level: LogLevel, write?: (line: string) => void, options: LoggerOptions = {}): Logger {
  const wantsPretty = options.pretty ?? (!write && process.stdout.isTTY === true && process.env.NODE_ENV !== 'production');
  const pretty = wantsPretty ? prettyStream() : null;
  const destination: DestinationStream | undefined = pretty ?? (write ? { write: (line: string) => write(line.replace(/\n$/, '')) } : undefined);
  const target = pino(
    {
      level,
      messageKey: 'message',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // JSON lines say "level":"info" (what log shippers and our tests read); pino-pretty wants numbers.
      ...(pretty ? {} : { formatters: { level: (label: string) => ({ level: label }) } }),
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // stdout asynchronously (pino's destination flushes what is buffered when the process exits).
  return wrap(target);
}

export const silentLogger: Logger = createLogger('silent', () => {});
