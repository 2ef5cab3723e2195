import { startEnrollmentWithLink, finishEnrollmentWithLink } from '../../src/auth/enroll/link.ts';
import type { Requester } from '../../src/auth/requester.ts';
import { silentLogger } from '../../src/logger.ts';
import type { OutgoingMail, Mailer } from '../../src/notifications/transport.ts';
import { advanceRecoveries } from '../../src/recovery/recovery.ts';
import { anonymous, passkeySignIn, signedInAs, signUpPasskeyUser, type Flows, type PasskeyUser } from '../auth/helpers.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';

export interface Admin extends PasskeyUser {
  /** A requester whose session was just made with a passkey (admin.write needs a proof ≤ 5 minutes old). */
  fresh(): Promise<Requester>;
}

export async function makeAdmin(f: Flows): Promise<Admin> {
  const admin = await signUpPasskeyUser(f);
  await f.t.db.updateTable('users').set({ is_admin: true }).where('id', '=', admin.user.id).execute();
  return {
    ...admin,
    async fresh() {
      const signedIn = await passkeySignIn(f, admin);
      return signedInAs(f, signedIn.established);
    },
  };
}

export async function withConfirmedEmail(f: Flows, userId: string, email = `${userId.slice(0, 8)}@example.test`): Promise<string> {
  await f.t.db.updateTable('users').set({ email, email_verified_at: f.t.clock.now() }).where('id', '=', userId).execute();
  return email;
}

/** A mailer that keeps what it is given (the recovery link goes straight to the mailer, not the outbox). */
export function capturingMailer(): Mailer & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return { kind: 'development', sent, async send(mail) { sent.push(mail); } };
}

export function tick(f: Flows, mailer: Mailer) {
  return advanceRecoveries({ ...f.deps, mailer, logger: silentLogger }, f.t.clock.now());
}

export function tokenOf(text: string): string | null {
  return /\/enroll#token=([A-Za-z0-9_-]{43})/.exec(text)?.[1] ?? null;
}

/** Registers a new passkey on a recovery link as the user's new browser would. */
export async function registerOnLink(f: Flows, token: string, authenticator = new SoftAuthenticator()) {
  const started = await startEnrollmentWithLink(f.deps, f.rp, anonymous(f), { token });
  const done = await finishEnrollmentWithLink(f.deps, f.rp, anonymous(f), { token, ceremonyId: started.ceremonyId, response: authenticator.register(started.options), label: 'New key' });
  return { ...done, authenticator, started };
}
