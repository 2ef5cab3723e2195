import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { forwardAuthRulesSchema, type ForwardAuthRule } from './forward-auth/rules.ts';

/**
 * The environment, parsed once at start. Every variable is documented in the README.
 * A wrong value stops the process with a message naming the variable — never a stack trace.
 */

const secondsSchema = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const originList = z
  .string()
  .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z.string().refine((origin) => {
          try {
            const url = new URL(origin);
            return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === origin;
          } catch {
            return false;
          }
        }, 'must be a list of origins like https://auth.example.com (scheme, host and optional port; no path or trailing slash)'),
      )
      .min(1, 'must name at least one origin'),
  );

/** `id:base64key,id2:base64key` — 32-byte AES-256 keys with ids, so old secrets stay readable after rotation. */
const encryptionKeys = z
  .string()
  .transform((value, ctx) => {
    const keys = new Map<string, Buffer>();
    for (const entry of value.split(',').map((part) => part.trim()).filter(Boolean)) {
      const separator = entry.indexOf(':');
      const id = separator > 0 ? entry.slice(0, separator) : '';
      const key = Buffer.from(entry.slice(separator + 1), 'base64');
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of id:base64 entries, each key exactly 32 bytes' });
        return z.NEVER;
      }
      keys.set(id, key);
    }
    if (keys.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'must name at least one key' });
      return z.NEVER;
    }
    return keys;
  });

const secretKey = z
  .string()
  .transform((value, ctx) => {
    const key = Buffer.from(value, 'base64');
    if (key.length < 32) {
      ctx.addIssue({ code: 'custom', message: 'must be at least 32 bytes, base64-encoded' });
      return z.NEVER;
    }
    return key;
  });

/** A DNS name such as example.com: no scheme, port, path or wildcard. */
const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'must be a domain name such as example.com (no scheme, port or path)');

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LATCH_ORIGINS: originList.optional(),
  LATCH_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, 'must be a host name such as example.com (no scheme or port)')
    .optional(),
  LATCH_RP_NAME: z.string().min(1).max(64).default('Latch'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  LATCH_DATA_DIR: z.string().min(1).default('./data'),
  LATCH_ENCRYPTION_KEYS: encryptionKeys.optional(),
  LATCH_ACTIVE_KEY_ID: z.string().min(1).optional(),
  LATCH_HMAC_KEY: secretKey.optional(),
  LATCH_SESSION_IDLE_SECONDS: secondsSchema(60 * 60),
  LATCH_SESSION_ABSOLUTE_SECONDS: secondsSchema(24 * 60 * 60),
  LATCH_TRUST_PROXY: booleanFlag.default(false),
  LATCH_AAGUID_FILE: z.string().min(1).optional(),
  LATCH_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
  LATCH_ALLOW_DEVELOPMENT_KEYS: booleanFlag.default(false),
  LATCH_COOKIE_DOMAIN: domainName.optional(),
  LATCH_FORWARD_AUTH_DOMAINS: z
    .string()
    .transform((value) => value.split(',').map((domain) => domain.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(domainName).min(1, 'must name at least one domain')) 
    .optional(),
  LATCH_FORWARD_AUTH_RULES_FILE: z.string().min(1).optional(),
  LATCH_METRICS: booleanFlag.default(false),
  LATCH_METRICS_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters (generate one with: openssl rand -hex 32)')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as a Bearer token)')
    .optional(),
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  LATCH_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Repeated statements are prepared per connection; false behind a pooler in transaction mode. */
  LATCH_PREPARED_STATEMENTS: booleanFlag.default(true),
  LATCH_HEADERS_TIMEOUT_SECONDS: secondsSchema(10),
  LATCH_REQUEST_TIMEOUT_SECONDS: secondsSchema(30),
  LATCH_KEEP_ALIVE_TIMEOUT_SECONDS: secondsSchema(5),
  LATCH_SHUTDOWN_TIMEOUT_SECONDS: secondsSchema(15),
  LATCH_SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  LATCH_MAIL_FROM: z.string().min(3).max(254).optional(),
  LATCH_RECOVERY_WAIT_HOURS: z.coerce.number().min(1).max(24 * 30).default(24),
  LATCH_SELF_RECOVERY: z.enum(['off', 'email']).default('off'),
  LATCH_SELF_RECOVERY_WAIT_HOURS: z.coerce.number().min(1).max(24 * 30).default(72),
  /** OpenID Connect refresh tokens: how many days one lives (each use rotates it); 7–30. */
  LATCH_OIDC_REFRESH_DAYS: z.coerce.number().int().min(7, 'must be at least 7 days').max(30, 'must be at most 30 days').default(14),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Config {
  port: number;
  host: string;
  /** Allowed origins; the first is the primary one (the URL we print, the one cookies are set for). */
  origins: string[];
  rpId: string;
  rpName: string;
  databaseUrl: string | null;
  dataDir: string;
  /** Null in the embedded development setup until keys are generated into the data folder. */
  keys: { encryptionKeys: Map<string, Buffer>; activeKeyId: string; hmacKey: Buffer } | null;
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  /** Only behind a reverse proxy that sets X-Forwarded-For may the header name the client. */
  trustProxy: boolean;
  aaguidFile: string | null;
  logLevel: Environment['LATCH_LOG_LEVEL'];
  /** NODE_ENV=production. */
  production: boolean;
  /**
   * Production on the embedded database without configured keys, explicitly allowed
   * (LATCH_ALLOW_DEVELOPMENT_KEYS=true): the generated development keys are used, loudly.
   */
  allowDevelopmentKeys: boolean;
  /**
   * Set for forward-auth across subdomains: the session cookie is then `__Secure-latch_session`
   * with `Domain=` this parent domain. Null: the `__Host-` cookie, which no subdomain can read or set.
   */
  cookieDomain: string | null;
  forwardAuth: {
    /** Where a browser may be sent back to after signing in (these domains and their subdomains). */
    domains: string[];
    rules: ForwardAuthRule[];
  };
  /** `GET /metrics` (Prometheus), behind this bearer token; null: off (404). */
  metrics: { token: string } | null;
  /** Processes serving the one port (node:cluster); 1: no cluster. */
  workers: number;
  /** PostgreSQL connections per process. */
  dbPoolSize: number;
  /** Prepare repeated statements per connection (src/db/prepared-statements.ts). */
  preparedStatements: boolean;
  /** Slow clients: time to send the headers, the whole request; idle keep-alive; draining at shutdown. */
  timeouts: { headersSeconds: number; requestSeconds: number; keepAliveSeconds: number; shutdownSeconds: number };
  /** Notifications go out by SMTP when set; otherwise to the log and the development mailbox. */
  smtpUrl: string | null;
  /** The From of every message. */
  mailFrom: string;
  /**
   * Account recovery: the wait between approval (or a self-service request) and the enrollment
   * link; self-service by email is off unless LATCH_SELF_RECOVERY=email.
   */
  recovery: { waitHours: number; selfService: 'off' | 'email'; selfServiceWaitHours: number };
  /** The OpenID Connect provider (src/oidc/): its issuer is the primary origin + /oidc. */
  oidc: { issuer: string; refreshTokenDays: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings count as unset, as they do in most .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  const production = e.NODE_ENV === 'production';

  const origins = e.LATCH_ORIGINS ?? [`http://localhost:${e.PORT === 0 ? 3000 : e.PORT}`];
  const primaryHost = new URL(origins[0]!).hostname;
  const rpId = e.LATCH_RP_ID ?? primaryHost;
  // Further origins may be related origins (served through /.well-known/webauthn); the primary one must match.
  if (primaryHost !== rpId && !primaryHost.endsWith(`.${rpId}`)) {
    problems.push(`LATCH_RP_ID: "${rpId}" must equal or be a parent domain of the primary origin's host "${primaryHost}"`);
  }

  let keys: Config['keys'] = null;
  if (e.LATCH_ENCRYPTION_KEYS || e.LATCH_HMAC_KEY) {
    if (!e.LATCH_ENCRYPTION_KEYS) problems.push('LATCH_ENCRYPTION_KEYS: must be set when LATCH_HMAC_KEY is set');
    if (!e.LATCH_HMAC_KEY) problems.push('LATCH_HMAC_KEY: must be set when LATCH_ENCRYPTION_KEYS is set');
    if (e.LATCH_ENCRYPTION_KEYS && e.LATCH_HMAC_KEY) {
      const activeKeyId = e.LATCH_ACTIVE_KEY_ID ?? [...e.LATCH_ENCRYPTION_KEYS.keys()].at(-1)!;
      if (!e.LATCH_ENCRYPTION_KEYS.has(activeKeyId)) {
        problems.push(`LATCH_ACTIVE_KEY_ID: "${activeKeyId}" is not one of the ids in LATCH_ENCRYPTION_KEYS`);
      }
      keys = { encryptionKeys: e.LATCH_ENCRYPTION_KEYS, activeKeyId, hmacKey: e.LATCH_HMAC_KEY };
    }
  } else if (e.DATABASE_URL) {
    problems.push(
      'LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY: must be set when DATABASE_URL is set (generated development keys exist only for the embedded database)',
    );
  } else if (production && !e.LATCH_ALLOW_DEVELOPMENT_KEYS) {
    // The development keys sit in development-keys.json beside the database: whoever copies the
    // data folder (a backup, a volume snapshot) can open every sealed secret and forge every hash.
    problems.push(
      'LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY: must be set when NODE_ENV=production (the generated development keys are stored beside the database, ' +
        'so anyone with a copy of the data folder could open every sealed secret). Set LATCH_ALLOW_DEVELOPMENT_KEYS=true to run with them anyway.',
    );
  }
  if (e.LATCH_SESSION_IDLE_SECONDS > e.LATCH_SESSION_ABSOLUTE_SECONDS) {
    problems.push('LATCH_SESSION_IDLE_SECONDS: must not exceed LATCH_SESSION_ABSOLUTE_SECONDS');
  }
  if (e.LATCH_COOKIE_DOMAIN && primaryHost !== e.LATCH_COOKIE_DOMAIN && !primaryHost.endsWith(`.${e.LATCH_COOKIE_DOMAIN}`)) {
    problems.push(`LATCH_COOKIE_DOMAIN: "${e.LATCH_COOKIE_DOMAIN}" must equal or be a parent domain of the primary origin's host "${primaryHost}"`);
  }
  const forwardAuthRules = e.LATCH_FORWARD_AUTH_RULES_FILE ? readForwardAuthRules(e.LATCH_FORWARD_AUTH_RULES_FILE, problems) : [];
  if (e.LATCH_METRICS && !e.LATCH_METRICS_TOKEN) {
    problems.push('LATCH_METRICS_TOKEN: must be set when LATCH_METRICS=true (GET /metrics is never open on the public origin without a token)');
  }
  if (e.WORKERS > 1 && !e.DATABASE_URL) {
    problems.push('WORKERS: more than one process needs DATABASE_URL (the embedded database belongs to one process)');
  }
  if (e.LATCH_HEADERS_TIMEOUT_SECONDS > e.LATCH_REQUEST_TIMEOUT_SECONDS) {
    problems.push('LATCH_HEADERS_TIMEOUT_SECONDS: must not exceed LATCH_REQUEST_TIMEOUT_SECONDS');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    port: e.PORT,
    host: e.HOST,
    origins,
    rpId,
    rpName: e.LATCH_RP_NAME,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: e.LATCH_DATA_DIR,
    keys,
    sessionIdleSeconds: e.LATCH_SESSION_IDLE_SECONDS,
    sessionAbsoluteSeconds: e.LATCH_SESSION_ABSOLUTE_SECONDS,
    trustProxy: e.LATCH_TRUST_PROXY,
    aaguidFile: e.LATCH_AAGUID_FILE ?? null,
    logLevel: e.LATCH_LOG_LEVEL,
    production,
    allowDevelopmentKeys: e.LATCH_ALLOW_DEVELOPMENT_KEYS,
    cookieDomain: e.LATCH_COOKIE_DOMAIN ?? null,
    forwardAuth: {
      domains: e.LATCH_FORWARD_AUTH_DOMAINS ?? [e.LATCH_COOKIE_DOMAIN ?? rpId],
      rules: forwardAuthRules,
    },
    metrics: e.LATCH_METRICS ? { token: e.LATCH_METRICS_TOKEN! } : null,
    workers: e.WORKERS,
    dbPoolSize: e.LATCH_DB_POOL_SIZE,
    preparedStatements: e.LATCH_PREPARED_STATEMENTS,
    timeouts: {
      headersSeconds: e.LATCH_HEADERS_TIMEOUT_SECONDS,
      requestSeconds: e.LATCH_REQUEST_TIMEOUT_SECONDS,
      keepAliveSeconds: e.LATCH_KEEP_ALIVE_TIMEOUT_SECONDS,
      shutdownSeconds: e.LATCH_SHUTDOWN_TIMEOUT_SECONDS,
    },
    smtpUrl: e.LATCH_SMTP_URL ?? null,
    mailFrom: e.LATCH_MAIL_FROM ?? `${e.LATCH_RP_NAME} <no-reply@${rpId}>`,
    recovery: { waitHours: e.LATCH_RECOVERY_WAIT_HOURS, selfService: e.LATCH_SELF_RECOVERY, selfServiceWaitHours: e.LATCH_SELF_RECOVERY_WAIT_HOURS },
    oidc: { issuer: `${origins[0]}/oidc`, refreshTokenDays: e.LATCH_OIDC_REFRESH_DAYS },
  };
}

/** The rules file, read once at start; a missing or malformed file is a configuration problem. */
function readForwardAuthRules(path: string, problems: string[]): ForwardAuthRule[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    problems.push(`LATCH_FORWARD_AUTH_RULES_FILE: cannot read ${path} as JSON (${(error as Error).message})`);
    return [];
  }
  const parsed = forwardAuthRulesSchema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`LATCH_FORWARD_AUTH_RULES_FILE: ${issue.path.join('.') || 'file'}: ${issue.message}`);
    return [];
  }
  return parsed.data.rules;
}
