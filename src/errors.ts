/**
 * Every error code the API can answer with, in one place. The browser client switches on `code`;
 * codes are a contract: add, never rename.
 */
export const errorCodes = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  validation_failed: { status: 400, message: 'The request did not pass validation.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  csrf_rejected: { status: 403, message: 'Cross-site request refused.' },
  unauthenticated: { status: 401, message: 'Sign in first.' },
  forbidden: { status: 403, message: 'You may not do that.' },
  step_up_required: { status: 403, message: 'Confirm it is you to continue.' },
  passkey_required: { status: 403, message: 'Your organization requires a passkey: add one to continue, or sign out.' },
  automatic_upgrade_expired: { status: 403, message: 'A passkey is created automatically only right after you sign in with your password and authenticator app.' },
  not_found: { status: 404, message: 'Not found.' },
  rate_limited: { status: 429, message: 'Too many attempts. Try again later.' },
  ceremony_invalid: { status: 400, message: 'This sign-in or enrollment step has expired or was already used. Start again.' },
  username_taken: { status: 409, message: 'That username is taken.' },
  last_factor: { status: 409, message: 'This is the last way you can sign in; add another before removing it.' },
  factor_not_found: { status: 404, message: 'No such factor.' },
  session_not_found: { status: 404, message: 'No such session.' },
  invalid_credentials: { status: 401, message: 'That did not work. Check what you entered and try again.' },
  passkey_verification_failed: { status: 401, message: 'That passkey could not be verified. Try again.' },
  user_verification_required: { status: 401, message: 'Unlock your passkey (PIN, fingerprint or face) to continue.' },
  /** The client may call PublicKeyCredential.signalUnknownCredential({rpId, credentialId}) from the details. */
  credential_unknown: { status: 401, message: 'This passkey is not known here. It may have been removed; choose another.' },
  /** A passkey whose sign counter went backwards (or was flagged so before) is refused until its owner clears the flag or removes it. */
  possible_cloned_authenticator: {
    status: 401,
    message:
      'This passkey was refused because it may have been copied. Sign in another way (another passkey, or your password and authenticator code), then on your account page remove this passkey, or confirm it is yours to use it again.',
  },
  credential_already_registered: { status: 409, message: 'This passkey is already registered.' },
  weak_password: { status: 400, message: 'Choose a stronger password.' },
  ticket_invalid: { status: 401, message: 'This sign-in has expired or used up its attempts. Enter your password again.' },
  code_invalid: { status: 401, message: 'That code did not work. Check it and try again.' },
  locked_out: { status: 429, message: 'Too many wrong codes. Wait until the lock ends (retryAfterSeconds), then try again.' },
  totp_already_enrolled: { status: 409, message: 'You already have an authenticator app; remove it before adding another.' },
  totp_not_enrolled: { status: 400, message: 'You have no authenticator app set up.' },
  factor_bound_in_session: { status: 403, message: 'A way to sign in added in this session cannot confirm it is you here. Use one you had before, or sign in again.' },
  remembered_device_not_found: { status: 404, message: 'No such remembered browser.' },
  redirect_not_allowed: { status: 400, message: 'That return address is not one of the apps Latch protects.' },
  email_invalid: { status: 400, message: 'That is not an email address we can send to. Check it and try again.' },
  email_confirmation_invalid: { status: 400, message: 'No code is waiting, or it expired or used up its attempts. Ask for a new code.' },
  email_not_found: { status: 404, message: 'Your account has no email address.' },
  email_delivery_failed: { status: 503, message: 'The confirmation code could not be sent just now. Try again in a moment.' },
  user_not_found: { status: 404, message: 'No such user.' },
  group_not_found: { status: 404, message: 'No such group.' },
  group_exists: { status: 409, message: 'A group with that name exists already.' },
  /** The default group holds everyone without membership rows: it cannot be deleted, renamed or joined. */
  default_group: { status: 409, message: 'Everyone is in the default group; it cannot be deleted, renamed, joined or left.' },
  last_admin: { status: 409, message: 'This is the last administrator; promote another before demoting or disabling this one.' },
  /** An enrollment link that is unknown, used or expired: which of these is not said (the token is a bearer secret). */
  enrollment_link_invalid: { status: 400, message: 'This enrollment link is not valid: it was used already or has expired. Ask for a new one.' },
  recovery_not_found: { status: 404, message: 'No such recovery request.' },
  recovery_already_open: { status: 409, message: 'This user already has an open recovery request.' },
  /** The two-admin rule: the administrator who opened a recovery (or its subject) cannot approve it. */
  recovery_same_admin: { status: 403, message: 'A second administrator must approve this recovery: not the one who opened it, nor the user.' },
  recovery_not_allowed: { status: 409, message: 'A recovery cannot be opened for this account.' },
  recovery_state: { status: 409, message: 'This recovery request is not at a step that allows that.' },
  recovery_self_service_off: { status: 404, message: 'Self-service recovery is not offered here: ask an administrator.' },
  recovery_waiting: { status: 409, message: 'The waiting period of this recovery has not ended yet (waitEndsAt).' },
  oidc_client_not_found: { status: 404, message: 'No such application.' },
  oidc_interaction_invalid: { status: 400, message: 'This sign-in request for an app has expired or was already finished. Start again from the app.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
  service_unavailable: { status: 503, message: 'The service is not ready.' },
  database_unavailable: { status: 503, message: 'The service is briefly unavailable. Try again in a moment.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

/** Domain code throws this; the HTTP layer maps it to `{error: {code, message, ...details}}`. */
export class LatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** Extra fields for the client (never secrets), e.g. `methods` for a step-up. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message ?? errorCodes[code].message);
    this.name = 'LatchError';
  }

  get status(): number {
    return errorCodes[this.code].status;
  }
}
