import { z } from 'zod';

/**
 * Forward-auth rules: which signed-in users may reach which protected host and path. The first rule
 * whose host and path match decides; a request no rule matches needs a live session and nothing
 * more. Read once at start from LATCH_FORWARD_AUTH_RULES_FILE (JSON, documented in docs/forward-auth.md).
 */

const hostPattern = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/, 'must be a host such as app.example.com or *.example.com (optionally with :port)');

export const forwardAuthRuleSchema = z
  .object({
    host: hostPattern,
    /** A path prefix, matched on whole segments ("/admin" matches "/admin" and "/admin/x", not "/administrator"). */
    path: z.string().regex(/^\/[^\s?#]*$/, 'must be a path starting with /').default('/'),
    /** The user must belong to at least one of these groups. */
    groups: z.array(z.string().trim().toLowerCase().min(1).max(64)).min(1).optional(),
    /** Only a phishing-resistant sign-in or step-up (a passkey that verified the user) will do. */
    phishingResistant: z.boolean().default(false),
    /** How long ago that proof may be; by default, any time in the session. */
    maxAgeSeconds: z.number().int().positive().max(7 * 24 * 60 * 60).optional(),
  })
  .strict();

export const forwardAuthRulesSchema = z.object({ rules: z.array(forwardAuthRuleSchema).max(1000) }).strict();

export type ForwardAuthRule = z.infer<typeof forwardAuthRuleSchema>;

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

function pathMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === base || path.startsWith(`${base}/`);
}

/** The first rule for this URL, or null (then a live session is enough). */
export function matchRule(rules: readonly ForwardAuthRule[], target: URL): ForwardAuthRule | null {
  // A rule without a port covers the host on every port: otherwise the same app reached on
  // another port (or a proxy that forwards "host:8443") would slip past its rule.
  return rules.find((rule) => hostMatches(rule.host, rule.host.includes(':') ? target.host.toLowerCase() : target.hostname.toLowerCase()) && pathMatches(rule.path, target.pathname)) ?? null;
}
