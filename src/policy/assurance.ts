import type { SessionProof } from '../sessions/sessions.ts';

/**
 * What each proof is worth: the one place that turns "how the user proved themselves" into an
 * assurance level, `amr` values and phishing resistance. Sign-in flows and step-ups describe
 * what happened; they never pick an AAL themselves.
 *
 * - A passkey with user verification is two factors (possession + PIN/biometric) and
 *   phishing-resistant; without UV, one factor.
 * - Password + TOTP is two factors, not phishing-resistant.
 * - Password + backup code is two factors and marks a recovery.
 * - Password + remembered browser is two factors (the device token is a possession secret issued
 *   after a full second-factor sign-in), but no proof of presence: the policy asks it to step up.
 */
export type SignInProof =
  | { method: 'passkey'; passkeyFactorId: string; userVerified: boolean }
  | { method: 'password_totp'; passwordFactorId: string; totpFactorId: string }
  | { method: 'password_backup_code'; passwordFactorId: string; backupCodesFactorId: string }
  | { method: 'password_remembered_device'; passwordFactorId: string; rememberedDeviceId: string };

export function signInAssurance(proof: SignInProof): SessionProof {
  switch (proof.method) {
    case 'passkey':
      return { ...passkeyAssurance(proof.userVerified), factorIds: [proof.passkeyFactorId] };
    case 'password_totp':
      return { amr: ['pwd', 'otp'], factorIds: [proof.passwordFactorId, proof.totpFactorId], aal: 2, phishingResistant: false };
    case 'password_backup_code':
      return { amr: ['pwd', 'backup_code'], factorIds: [proof.passwordFactorId, proof.backupCodesFactorId], aal: 2, phishingResistant: false, recovery: true };
    case 'password_remembered_device':
      return {
        amr: ['pwd', 'remembered_device'],
        factorIds: [proof.passwordFactorId],
        aal: 2,
        phishingResistant: false,
        rememberedDeviceId: proof.rememberedDeviceId,
      };
  }
}

/** A step-up proves one factor now, on top of the session's own. */
export type StepUpProof = { method: 'passkey'; factorId: string; userVerified: boolean } | { method: 'totp'; factorId: string };

export interface StepUpAssurance {
  factorId: string;
  amr: string[];
  /** The level the session reaches; absent when the proof only refreshes freshness. */
  aal?: 2;
  phishingResistant?: true;
}

export function stepUpAssurance(proof: StepUpProof): StepUpAssurance {
  if (proof.method === 'totp') return { factorId: proof.factorId, amr: ['otp'], aal: 2 };
  // A passkey without UV proves possession only: the session stays at its level, only fresher.
  return proof.userVerified
    ? { factorId: proof.factorId, amr: ['passkey', 'uv'], aal: 2, phishingResistant: true }
    : { factorId: proof.factorId, amr: ['passkey'] };
}

function passkeyAssurance(userVerified: boolean): Pick<SessionProof, 'amr' | 'aal' | 'phishingResistant'> {
  return userVerified ? { amr: ['passkey', 'uv'], aal: 2, phishingResistant: true } : { amr: ['passkey'], aal: 1, phishingResistant: false };
}

/**
 * OpenID Connect `acr` values Latch issues, weakest to strongest. `phishing-resistant` is a
 * session proven with a passkey that verified the user (AAL2 and phishing-resistant); `aal2` any
 * other two-factor session; `aal1` one factor.
 */
export const ACR = {
  aal1: 'urn:latch:acr:aal1',
  aal2: 'urn:latch:acr:aal2',
  phishingResistant: 'urn:latch:acr:phishing-resistant',
} as const;
export const ACR_VALUES = [ACR.phishingResistant, ACR.aal2, ACR.aal1] as const;

/**
 * What a session's proof is worth to an app, in OpenID Connect terms: `acr` from the assurance
 * above, and `amr` in RFC 8176 values — a passkey is a hardware-bound key (`hwk`) with a presence
 * test (`user`), `pwd` a password, `otp` an authenticator or backup code, and `mfa` when two
 * factors were proven (a passkey with user verification counts as two: possession + PIN/biometric;
 * RFC 8176 has no value saying which of PIN or biometric the authenticator used, so neither is claimed).
 */
export function oidcAuthenticationContext(session: { amr: readonly string[]; aal: number; phishingResistant: boolean }): { acr: string; amr: string[] } {
  const amr = new Set<string>();
  for (const method of session.amr) {
    if (method === 'passkey') amr.add('hwk').add('user');
    else if (method === 'pwd') amr.add('pwd');
    else if (method === 'otp' || method === 'backup_code') amr.add('otp');
  }
  if (session.aal >= 2) amr.add('mfa');
  const acr = session.phishingResistant && session.aal >= 2 ? ACR.phishingResistant : session.aal >= 2 ? ACR.aal2 : ACR.aal1;
  return { acr, amr: [...amr] };
}
