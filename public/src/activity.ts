/** Audit events in plain words, for "Recent security activity". */
import type { AuditEvent } from './api.ts';

const KIND_NAMES: Record<string, string> = {
  passkey: 'a passkey',
  totp: 'an authenticator app',
  backup_codes: 'backup codes',
  backup_code: 'a backup code',
  password: 'a password',
};

const METHOD_NAMES: Record<string, string> = {
  passkey: 'passkey',
  totp: 'authenticator code',
  password: 'password',
  backup_code: 'backup code',
  backup_codes: 'backup code',
};

function detail(event: AuditEvent, name: string): string | null {
  const value = event.details?.[name];
  return typeof value === 'string' ? value : null;
}

function kindName(event: AuditEvent): string {
  const kind = detail(event, 'kind') ?? detail(event, 'factorKind');
  return (kind && KIND_NAMES[kind]) ?? 'a sign-in method';
}

function how(event: AuditEvent): string {
  const amr = event.details?.amr;
  if (!Array.isArray(amr)) return '';
  if (amr.includes('passkey')) return ' with a passkey';
  if (amr.includes('backup_code')) return ' with a backup code';
  if (amr.includes('remembered_device')) return ' on a remembered browser';
  if (amr.includes('otp')) return ' with password and code';
  return '';
}

function readable(text: string): string {
  const words = text.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * What the user sees for an event, or null for bookkeeping that would only repeat another row:
 * a ceremony's own success beside the session it created, or a request that merely asked for a
 * step-up before going through.
 */
export function describeEvent(event: AuditEvent): string | null {
  const failed = event.outcome !== 'success';
  if (event.outcome === 'denied' && detail(event, 'reason') === 'step_up_required') return null;
  const [subject = '', verb = ''] = event.action.split('.');

  switch (event.action) {
    case 'session.create':
      return `Signed in${how(event)}`;
    case 'session.sign_out':
      return 'Signed out';
    case 'session.end':
      return 'Ended a session';
    case 'session.revoke_others':
      return 'Signed out everywhere else';
    case 'session.step_up':
      return failed ? "Couldn't confirm it was you" : 'Confirmed it was you';
    case 'factor.rename':
      return `Renamed ${kindName(event)}`;
    case 'factor.flag_cleared':
      return `Confirmed ${kindName(event)} is yours after a warning`;
    case 'factor.revoke':
      return event.byAnotherUser ? `An administrator removed ${kindName(event)}` : `Removed ${kindName(event)}`;
    case 'factor.add':
      if (detail(event, 'kind') === 'password') return failed ? "Couldn't set a password" : 'Set a password';
      return failed ? `Couldn't add ${kindName(event)}` : `Added ${kindName(event)}`;
  }

  switch (event.action) {
    case 'user.signup':
      return failed ? null : 'Created your account';
    case 'backup_code.use':
      return failed ? 'A backup code was refused' : 'Used a backup code';
    case 'backup_codes.regenerate':
      return 'Created new backup codes';
    case 'password.change':
      return 'Changed your password';
    case 'remembered_device.add':
      return 'Remembered a browser for 30 days';
    case 'remembered_device.forget':
      return 'Forgot remembered browsers';
  }

  // Sign-in steps (signin.password, signin.second_factor, passkey.signin …): a success is followed
  // by "Signed in"; a failure is worth seeing.
  const method = METHOD_NAMES[detail(event, 'method') ?? ''] ?? METHOD_NAMES[verb === 'password' ? 'password' : subject];
  if (verb === 'signup') return failed ? null : 'Created your account';
  if (subject === 'signin' || verb === 'signin' || verb === 'sign_in') {
    return failed ? `Failed sign-in attempt${method ? ` (${method})` : ''}` : null;
  }
  if (verb === 'step_up') return failed ? `Couldn't confirm it was you${method ? ` (${method})` : ''}` : null;
  return readable(event.action);
}
