import { describe, expect, it } from 'vitest';
import { decide, policyTable, type SensitiveAction } from '../src/policy/policy.ts';

const now = new Date('2026-11-22T12:00:00Z');
const secondsAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const userContext = { now, activeFactorKinds: ['passkey', 'totp', 'password', 'backup_codes'] as const, hasUserVerifyingPasskey: true, isAdmin: false };
const freshStrong = { aal: 2, phishingResistant: true, lastVerifiedAt: secondsAgo(10), amr: ['passkey', 'uv'], steppedUpAt: null };

describe('policy table', () => {
  it('covers every sensitive action with a positive freshness window and at least one method', () => {
    const actions = Object.keys(policyTable) as SensitiveAction[];
    expect(actions).toEqual(
      expect.arrayContaining(['factor.add', 'factor.remove', 'factor.rename', 'backup_codes.regenerate', 'password.change', 'sessions.revoke_others']),
    );
    for (const action of actions) {
      expect(policyTable[action].maxAgeSeconds).toBeGreaterThan(0);
      expect(policyTable[action].methods.length).toBeGreaterThan(0);
    }
  });

  it('factor changes need a proof no older than five minutes', () => {
    for (const action of ['factor.add', 'factor.remove', 'backup_codes.regenerate', 'password.change'] as const) {
      expect(decide(action, { ...freshStrong, lastVerifiedAt: secondsAgo(299) }, userContext)).toEqual({ decision: 'allow' });
      expect(decide(action, { ...freshStrong, lastVerifiedAt: secondsAgo(301) }, userContext)).toEqual({
        decision: 'step_up_required',
        methods: ['passkey', 'totp'],
        maxAgeSeconds: 300,
      });
    }
  });

  it('a single-factor session (passkey without UV) cannot bind a factor: self-granted assurance needs two factors first (NIST 800-63B 6.1.2.1)', () => {
    const singleFactor = { aal: 1, phishingResistant: false, lastVerifiedAt: secondsAgo(1), amr: ['passkey'], steppedUpAt: null };
    expect(decide('factor.add', singleFactor, userContext)).toEqual({ decision: 'step_up_required', methods: ['passkey', 'totp'], maxAgeSeconds: 300 });
    expect(decide('backup_codes.regenerate', singleFactor, userContext)).toEqual({ decision: 'step_up_required', methods: ['passkey', 'totp'], maxAgeSeconds: 300 });
    expect(decide('factor.rename', singleFactor, userContext)).toEqual({ decision: 'allow' });
    expect(decide('factor.remove', singleFactor, userContext)).toEqual({ decision: 'step_up_required', methods: ['passkey', 'totp'], maxAgeSeconds: 300 });
  });

  it('never offers a step-up that cannot satisfy the requirement (no loop for a passkey without user verification)', () => {
    const singleFactor = { aal: 1, phishingResistant: false, lastVerifiedAt: secondsAgo(1), amr: ['passkey'], steppedUpAt: null };
    const nonVerifyingPasskeyOnly = { ...userContext, activeFactorKinds: ['passkey'] as const, hasUserVerifyingPasskey: false };
    expect(decide('factor.remove', singleFactor, nonVerifyingPasskeyOnly)).toEqual({ decision: 'deny', reason: 'no_step_up_method' });
    // Staleness alone can be fixed by the same passkey: it proves possession again.
    expect(decide('factor.rename', { ...singleFactor, lastVerifiedAt: secondsAgo(3600) }, nonVerifyingPasskeyOnly)).toEqual({ decision: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 900 });
    // Binding a factor needs two, which this user cannot reach: refused, not a loop.
    expect(decide('factor.add', singleFactor, nonVerifyingPasskeyOnly)).toEqual({ decision: 'deny', reason: 'no_step_up_method' });
    // A TOTP code adds the missing second factor.
    const withTotp = { ...nonVerifyingPasskeyOnly, activeFactorKinds: ['passkey', 'totp'] as const };
    expect(decide('factor.remove', singleFactor, withTotp)).toEqual({ decision: 'step_up_required', methods: ['totp'], maxAgeSeconds: 300 });
  });

  it('a session whose second factor a remembered browser stood in for must step up before anything sensitive', () => {
    const remembered = { aal: 2, phishingResistant: false, lastVerifiedAt: secondsAgo(1), amr: ['pwd', 'remembered_device'], steppedUpAt: null };
    for (const action of ['factor.add', 'factor.remove', 'backup_codes.regenerate', 'password.change', 'sessions.revoke_others'] as const) {
      expect(decide(action, remembered, userContext).decision).toBe('step_up_required');
    }
    expect(decide('backup_codes.regenerate', { ...remembered, steppedUpAt: secondsAgo(1) }, userContext)).toEqual({ decision: 'allow' });
  });

  it('offers only the step-up methods the user actually has', () => {
    const totpOnly = { ...userContext, activeFactorKinds: ['totp', 'password', 'backup_codes'] as const, hasUserVerifyingPasskey: false };
    expect(decide('factor.add', { ...freshStrong, lastVerifiedAt: secondsAgo(3600) }, totpOnly)).toEqual({
      decision: 'step_up_required',
      methods: ['totp'],
      maxAgeSeconds: 300,
    });
  });

  it('denies when the user has nothing that can step up', () => {
    const none = { ...userContext, activeFactorKinds: ['password'] as const, hasUserVerifyingPasskey: false };
    expect(decide('factor.add', { ...freshStrong, lastVerifiedAt: secondsAgo(3600) }, none)).toEqual({ decision: 'deny', reason: 'no_step_up_method' });
  });

  it('admin actions are denied to non-admins however fresh the session', () => {
    const proven = { ...freshStrong, passkeyVerifiedAt: secondsAgo(10) };
    expect(decide('admin.read', proven, userContext)).toEqual({ decision: 'deny', reason: 'not_admin' });
    expect(decide('admin.write', proven, userContext)).toEqual({ decision: 'deny', reason: 'not_admin' });
  });

  it('admin actions need a phishing-resistant proof: a TOTP-made session must step up with a passkey', () => {
    const admin = { ...userContext, isAdmin: true };
    const totpSession = { aal: 2, phishingResistant: false, lastVerifiedAt: secondsAgo(1), amr: ['pwd', 'otp'], steppedUpAt: null, passkeyVerifiedAt: null };
    expect(decide('admin.write', totpSession, admin)).toEqual({ decision: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 300 });
    expect(decide('admin.write', { ...freshStrong, passkeyVerifiedAt: secondsAgo(10) }, admin)).toEqual({ decision: 'allow' });
    expect(decide('admin.write', totpSession, { ...admin, hasUserVerifyingPasskey: false })).toEqual({ decision: 'deny', reason: 'no_step_up_method' });
  });

  it('admin freshness counts from the last passkey proof: a later TOTP step-up does not make it fresh', () => {
    const admin = { ...userContext, isAdmin: true };
    // Signed in with a passkey an hour ago, stepped up with a (phishable) code a second ago.
    const steppedUpWithCode = { aal: 2, phishingResistant: true, lastVerifiedAt: secondsAgo(1), amr: ['otp', 'passkey', 'uv'], steppedUpAt: secondsAgo(1), passkeyVerifiedAt: secondsAgo(3600) };
    expect(decide('admin.write', steppedUpWithCode, admin)).toEqual({ decision: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 300 });
    expect(decide('admin.read', steppedUpWithCode, admin)).toEqual({ decision: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 900 });
  });

  it('admin writes need a passkey proof within five minutes, reads within fifteen', () => {
    const admin = { ...userContext, isAdmin: true };
    const provenAgo = (seconds: number) => ({ ...freshStrong, lastVerifiedAt: secondsAgo(seconds), passkeyVerifiedAt: secondsAgo(seconds) });
    expect(decide('admin.write', provenAgo(299), admin)).toEqual({ decision: 'allow' });
    expect(decide('admin.write', provenAgo(301), admin).decision).toBe('step_up_required');
    expect(decide('admin.read', provenAgo(301), admin)).toEqual({ decision: 'allow' });
    expect(decide('admin.read', provenAgo(901), admin)).toEqual({ decision: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 900 });
  });
});
