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
