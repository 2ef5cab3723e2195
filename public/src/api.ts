import { setRelyingPartyId } from './signal.ts';
/**
 * The one way the pages talk to the server. Every state-changing call is same-origin JSON (the
 * server refuses anything else); errors become `ApiError` with the server's stable `code`.
 *
 * A `403 step_up_required` is not an error the page has to handle: the registered step-up handler
 * (the dialog in stepup.ts) asks the user to confirm it is them, and the request the user asked
 * for is then sent again — no lost work, no reload.
 */

export type StepUpMethod = 'passkey' | 'totp';

export interface StepUpRequest {
  methods: StepUpMethod[];
  maxAgeSeconds: number | null;
  /** What the user was doing, in their words ("remove this passkey"), for the dialog's copy. */
  purpose: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The user closed the step-up dialog: nothing happened, and nothing needs saying. */
export class StepUpCancelled extends ApiError {
  constructor() {
    super(0, 'step_up_cancelled', 'Cancelled. Nothing was changed.');
    this.name = 'StepUpCancelled';
  }
}

type StepUpHandler = (request: StepUpRequest) => Promise<boolean>;
let stepUpHandler: StepUpHandler | null = null;
let unauthenticatedHandler: (() => void) | null = null;

/** The step-up dialog registers itself here; it resolves true once the user confirmed. */
export function setStepUpHandler(handler: StepUpHandler): void {
  stepUpHandler = handler;
}

/** Pages that need a session (the account page) send the user to sign in when it ends. */
export function setUnauthenticatedHandler(handler: () => void): void {
  unauthenticatedHandler = handler;
}

export interface ApiOptions {
  /** Describe the action for the step-up dialog ("add a passkey"). */
  purpose?: string;
  /** False for the step-up calls themselves, and for sign-in pages where 401 is an answer. */
  stepUp?: boolean;
  /** False where `unauthenticated` is an expected answer (the session probe). */
  redirectOnUnauthenticated?: boolean;
}

const NETWORK_MESSAGE = "We couldn't reach Latch. Check your connection and try again.";

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const init: RequestInit = {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
    cache: 'no-store',
  };
  if (method !== 'GET' && method !== 'HEAD' && (method !== 'DELETE' || body !== undefined)) {
    // The server accepts state changes only as JSON; a body-less POST still sends `{}`.
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(body ?? {});
  }
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', NETWORK_MESSAGE);
  }
}

async function readError(response: Response): Promise<ApiError> {
  let payload: unknown = null;
  try {
    payload = await response.json();
  } catch {
    // not JSON (a proxy's error page): fall through to the generic message
  }
  const error = (payload as { error?: Record<string, unknown> } | null)?.error;
  if (error && typeof error.code === 'string') {
    const { code, message, ...details } = error;
    return new ApiError(response.status, code, typeof message === 'string' ? message : 'Something went wrong.', details);
  }
  return new ApiError(
    response.status,
    response.status >= 500 ? 'internal_error' : 'unexpected',
    response.status >= 500 ? 'Something went wrong on our side. Try again in a moment.' : 'Something went wrong.',
  );
}

function stepUpRequestOf(error: ApiError, purpose: string | undefined): StepUpRequest {
  const methods = Array.isArray(error.details.methods)
    ? (error.details.methods as unknown[]).filter((method): method is StepUpMethod => method === 'passkey' || method === 'totp')
    : [];
  const maxAgeSeconds = typeof error.details.maxAgeSeconds === 'number' ? error.details.maxAgeSeconds : null;
  return { methods, maxAgeSeconds, purpose: purpose ?? null };
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, options: ApiOptions = {}): Promise<T> {
  let response = await send(method, path, body);
  if (response.status === 403 && options.stepUp !== false && stepUpHandler) {
    const error = await readError(response.clone());
    if (error.code === 'step_up_required') {
      const confirmed = await stepUpHandler(stepUpRequestOf(error, options.purpose));
      if (!confirmed) throw new StepUpCancelled();
      response = await send(method, path, body);
    }
  }
  if (!response.ok) {
    const error = await readError(response);
    // Only `unauthenticated` means the session ended. Other 401s (a wrong code, a passkey that
    // did not verify) are answers for the form or dialog that asked, which keeps its state.
    if (error.code === 'unauthenticated' && options.redirectOnUnauthenticated !== false && unauthenticatedHandler) {
      unauthenticatedHandler();
    }
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T = unknown>(path: string, options?: ApiOptions) => api<T>('GET', path, undefined, options);
export const post = <T = unknown>(path: string, body?: unknown, options?: ApiOptions) => api<T>('POST', path, body ?? {}, options);
export const patch = <T = unknown>(path: string, body?: unknown, options?: ApiOptions) => api<T>('PATCH', path, body ?? {}, options);
export const del = <T = unknown>(path: string, options?: ApiOptions) => api<T>('DELETE', path, undefined, options);

/** The server refused a code or password (the code names which; both mean "check and retry"). */
export function isWrongCode(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.code === 'code_invalid' || error.code === 'invalid_credentials');
}

/** The time, on the user's clock, at which something `seconds` from now happens: "14:32". */
export function clockTimeIn(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * " 2 attempts left." when the server says few remain; when this try started a lock, when it
 * ends; otherwise nothing.
 */
export function attemptsLeftNote(error: ApiError): string {
  if (typeof error.details.lockedForSeconds === 'number') {
    return ` That was the last try for now: you can try again at ${clockTimeIn(error.details.lockedForSeconds)}.`;
  }
  const left = error.details.attemptsLeft;
  if (typeof left !== 'number' || left > 3) return '';
  return left <= 0 ? ' No attempts left: start again.' : ` ${left} ${left === 1 ? 'attempt' : 'attempts'} left.`;
}

/** The message to show for an error; a cancelled step-up says nothing alarming. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'rate_limited':
        return 'Too many attempts. Wait a few minutes, then try again.';
      case 'locked_out':
        return typeof error.details.retryAfterSeconds === 'number'
          ? `Too many wrong codes. You can try again at ${clockTimeIn(error.details.retryAfterSeconds)}.`
          : 'Too many wrong codes. Wait a while, then try again.';
      case 'ceremony_invalid':
        return 'That took too long or was already used. Please start again.';
      case 'csrf_rejected':
        return 'Your browser sent the request from another site, so we refused it. Reload this page and try again.';
      default:
        return error.message;
    }
  }
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong. Try again.';
}

// ——— The shapes the pages read. Fields beyond the contract are optional: code defensively. ———

export interface User {
  id: string;
  username: string;
  displayName?: string | null;
  /** The WebAuthn user handle (base64url), when the server shares it; used for the Signal API. */
  webauthnUserId?: string | null;
}

export interface SessionInfo {
  id: string;
  aal?: number;
  amr?: string[];
  phishingResistant?: boolean;
  recovery?: boolean;
  createdAt: string;
  lastSeenAt: string;
  expiresAt?: string;
  steppedUpAt?: string | null;
  clientAddress?: string | null;
  userAgent?: string | null;
  current?: boolean;
}

export interface Factor {
  id: string;
  kind: 'passkey' | 'totp' | 'backup_codes' | 'password';
  label: string | null;
  status: string;
  createdAt: string;
  lastUsedAt: string | null;
  // passkey
  authenticatorName?: string | null;
  synced?: boolean;
  transports?: string[];
  credentialId?: string;
  /** Refused at sign-in as a possible copy until cleared ("This was me") or removed. */
  flagged?: boolean;
  flaggedReason?: string | null;
  // backup codes
  remaining?: number;
  total?: number;
}

export interface RememberedDevice {
  id: string;
  /** "Chrome on macOS", as the server describes it. */
  browser?: string | null;
  userAgent?: string | null;
  label?: string | null;
  clientAddress?: string | null;
  createdAt?: string;
  lastUsedAt?: string | null;
  expiresAt?: string;
  current?: boolean;
}

export interface AuditEvent {
  id: string;
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  occurredAt: string;
  clientAddress?: string | null;
  userAgent?: string | null;
  byAnotherUser?: boolean;
  details?: Record<string, unknown>;
}

/** The current session, or null when signed out. */
/** What the organization's passkey rollout asks of this session: an invitation (with the days left), or a restriction. */
export type Rollout = { invite: true; daysLeft: number | null; deadline: string | null } | { restricted: true; since: string | null };

export function isRestricted(rollout: Rollout | null | undefined): rollout is { restricted: true; since: string | null } {
  return rollout !== null && rollout !== undefined && 'restricted' in rollout;
}

export async function currentSession(): Promise<{ user: User; session: SessionInfo; rollout?: Rollout | null } | null> {
  try {
    const current = await get<{ user: User; session: SessionInfo; rpId?: string; rollout?: Rollout | null }>('/api/session', { redirectOnUnauthenticated: false });
    setRelyingPartyId(current.rpId);
    return current;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unauthenticated') return null;
    throw error;
  }
}

/** `GET /api/factors` answers an array; tolerate `{factors: [...]}` too. */
export async function listFactors(): Promise<Factor[]> {
  const answer = await get<Factor[] | { factors: Factor[] }>('/api/factors');
  return Array.isArray(answer) ? answer : (answer.factors ?? []);
}
