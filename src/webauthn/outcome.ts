import type { ErrorCode } from '../errors.ts';

/**
 * How a passkey ceremony ended. A refusal is returned, not thrown: what it changed (the ceremony
 * consumed, a cloned passkey flagged) must commit, together with the audit row that records it.
 */
export interface CeremonyRefusal {
  ok: false;
  /** What the client is told. */
  code: ErrorCode;
  /** Why, for the audit log: a fixed word, never a value the client sent. */
  reason: string;
  userId: string | null;
  factorId: string | null;
  /** Extra fields for the client's error body (never secrets), e.g. the credential id to forget. */
  details?: Record<string, unknown>;
  /** Extra fields for the audit row only. */
  auditDetails?: Record<string, unknown>;
  /** false: no audit row (a rate-limit refusal, which changed nothing but its counter). */
  audited?: false;
}

export type CeremonyOutcome<T> = { ok: true; value: T } | CeremonyRefusal;

export function refuse(
  code: ErrorCode,
  reason: string,
  about: { userId?: string | null; factorId?: string | null; details?: Record<string, unknown>; auditDetails?: Record<string, unknown> } = {},
): CeremonyRefusal {
  return {
    ok: false,
    code,
    reason,
    userId: about.userId ?? null,
    factorId: about.factorId ?? null,
    ...(about.details ? { details: about.details } : {}),
    ...(about.auditDetails ? { auditDetails: about.auditDetails } : {}),
  };
}
