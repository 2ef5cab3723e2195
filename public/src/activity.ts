/** Audit events in plain words, for "Recent security activity". */
import type { AuditEvent } from './api.ts';

const KIND_NAMES: Record<string, string> = {
  passkey: 'a passkey',
  totp: 'an authenticator app',
  backup_codes: 'backup codes',
  password: 'a password',
};

function kindOf(event: AuditEvent): string | null {
  const kind = event.details?.kind ?? event.details?.factorKind ?? event.details?.method;
  return typeof kind === 'string' ? kind : null;
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

/** Exact phrases for the actions we know; everything else is the action name made readable. */
export function describeEvent(event: AuditEvent): string {
  const kind = kindOf(event);
  const kindName = kind ? (KIND_NAMES[kind] ?? 'a sign-in method') : 'a sign-in method';
  const failed = event.outcome !== 'success';
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
      return `Renamed ${kindName}`;
    case 'factor.revoke':
      return event.byAnotherUser ? `An administrator removed ${kindName}` : `Removed ${kindName}`;
    case 'factor.enroll':
    case 'factor.add':
    case 'factor.create':
    case 'factor.activate':
      return `Added ${kindName}`;
  }
  const [subject, verb] = event.action.split('.');
  const readable = event.action.replace(/[._]/g, ' ');
  if (subject === 'signin' || subject === 'sign_in' || event.action.startsWith('signin')) {
    return failed ? `Failed sign-in attempt (${readable})` : `Sign-in step (${readable})`;
  }
  if (subject === 'backup_codes' && verb) return verb.startsWith('regenerat') ? 'Created new backup codes' : `Backup codes: ${verb.replace(/_/g, ' ')}`;
  if (subject === 'password' && verb) return verb === 'change' || verb === 'set' ? (verb === 'set' ? 'Set a password' : 'Changed password') : `Password: ${verb.replace(/_/g, ' ')}`;
  if (subject === 'remembered_device' || subject === 'remembered_devices') return `Remembered browsers: ${(verb ?? '').replace(/_/g, ' ')}`;
  return readable.charAt(0).toUpperCase() + readable.slice(1);
}
