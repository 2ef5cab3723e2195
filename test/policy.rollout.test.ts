import { describe, expect, it } from 'vitest';
import {
  automaticUpgradeAllowed,
  decideRollout,
  effectiveRolloutPolicy,
  restrictedSessionMayUse,
  rolloutNotice,
  type RolloutFacts,
  type RolloutGroupPolicy,
} from '../src/policy/rollout.ts';
import { fakeClock } from './helpers/clock.ts';

/** The rollout decision as a pure function, with a fake clock walked across the deadline. */

const DEADLINE = new Date('2026-12-10T09:00:00.000Z');
const DAY = 24 * 60 * 60;
const optional: RolloutGroupPolicy = { mode: 'optional', deadline: null, inviteAgainAfterDays: 7 };
const encouraged: RolloutGroupPolicy = { mode: 'encouraged', deadline: null, inviteAgainAfterDays: 3 };
const required: RolloutGroupPolicy = { mode: 'required', deadline: DEADLINE, inviteAgainAfterDays: 7 };

function facts(clock: ReturnType<typeof fakeClock>, overrides: Partial<RolloutFacts> = {}): RolloutFacts {
  return { policies: [optional], exemption: null, hasPasskey: false, method: 'password_totp', lastSkippedAt: null, now: clock.now(), ...overrides };
}

describe('decideRollout', () => {
  it('optional: nothing, before and after any date', () => {
    const clock = fakeClock('2026-12-01T00:00:00Z');
    expect(decideRollout(facts(clock))).toEqual({ kind: 'none' });
    clock.advance(365 * DAY);
    expect(decideRollout(facts(clock))).toEqual({ kind: 'none' });
  });

  it('encouraged: invites after a fallback sign-in, not again until invite_again_after_days after "Not now"', () => {
    const clock = fakeClock('2026-12-01T00:00:00Z');
    const policies = [optional, encouraged];
    expect(decideRollout(facts(clock, { policies }))).toEqual({ kind: 'invite', deadline: null, daysLeft: null });
    const skippedAt = clock.now();
    clock.advance(3 * DAY - 1);
    expect(decideRollout(facts(clock, { policies, lastSkippedAt: skippedAt }))).toEqual({ kind: 'none' });
    clock.advance(1);
    expect(decideRollout(facts(clock, { policies, lastSkippedAt: skippedAt }))).toEqual({ kind: 'invite', deadline: null, daysLeft: null });
    // Every fallback counts; a passkey sign-in, or a user who has a passkey, is never invited.
    for (const method of ['password_backup_code', 'password_remembered_device'] as const) expect(decideRollout(facts(clock, { policies, method })).kind).toBe('invite');
    expect(decideRollout(facts(clock, { policies, method: 'passkey' }))).toEqual({ kind: 'none' });
    expect(decideRollout(facts(clock, { policies, hasPasskey: true }))).toEqual({ kind: 'none' });
  });

  it('required: an invitation counting the days down, then restricted from the deadline on', () => {
    const clock = fakeClock('2026-12-01T09:00:00Z');
    const policies = [optional, required];
    expect(decideRollout(facts(clock, { policies }))).toEqual({ kind: 'invite', deadline: DEADLINE, daysLeft: 9 });
    // A skip does not silence a coming requirement.
    expect(decideRollout(facts(clock, { policies, lastSkippedAt: clock.now() })).kind).toBe('invite');
    clock.set(new Date(DEADLINE.getTime() - 1000));
    expect(decideRollout(facts(clock, { policies }))).toEqual({ kind: 'invite', deadline: DEADLINE, daysLeft: 1 });
    clock.set(DEADLINE);
    expect(decideRollout(facts(clock, { policies }))).toEqual({ kind: 'restricted', since: DEADLINE });
    clock.advance(30 * DAY);
    expect(decideRollout(facts(clock, { policies }))).toEqual({ kind: 'restricted', since: DEADLINE });
    // With a passkey, or signing in with it, nothing is restricted.
    expect(decideRollout(facts(clock, { policies, hasPasskey: true }))).toEqual({ kind: 'none' });
    expect(decideRollout(facts(clock, { policies, method: 'passkey' }))).toEqual({ kind: 'none' });
  });

  it('an active exemption lifts required (invited, never restricted); an ended one does not', () => {
    const clock = fakeClock('2026-12-20T00:00:00Z');
    const policies = [required];
    const until = new Date('2026-12-25T00:00:00Z');
    expect(decideRollout(facts(clock, { policies, exemption: { expiresAt: null } }))).toEqual({ kind: 'invite', deadline: null, daysLeft: null });
    expect(decideRollout(facts(clock, { policies, exemption: { expiresAt: until } })).kind).toBe('invite');
    clock.set(until);
    expect(decideRollout(facts(clock, { policies, exemption: { expiresAt: until } }))).toEqual({ kind: 'restricted', since: DEADLINE });
  });

  it('the strictest group wins: required over encouraged over optional, the earlier deadline, the shorter interval', () => {
    const later = { ...required, deadline: new Date('2027-01-01T00:00:00Z') };
    expect(effectiveRolloutPolicy([optional, encouraged, later, required], false)).toEqual({ mode: 'required', deadline: DEADLINE, inviteAgainAfterDays: 7 });
    expect(effectiveRolloutPolicy([encouraged, { ...encouraged, inviteAgainAfterDays: 1 }, optional], false)).toMatchObject({ mode: 'encouraged', inviteAgainAfterDays: 1 });
    expect(effectiveRolloutPolicy([optional], false).mode).toBe('optional');
    expect(effectiveRolloutPolicy([required], true)).toMatchObject({ mode: 'encouraged', deadline: null });
  });
});

describe('restricted sessions and notices', () => {
  it('a restricted session reaches only its session, sign-out, the TOTP step-up and passkey enrollment', () => {
    expect(restrictedSessionMayUse('GET', '/api/session')).toBe(true);
    expect(restrictedSessionMayUse('DELETE', '/api/session')).toBe(true);
    expect(restrictedSessionMayUse('POST', '/api/factors/passkeys/options')).toBe(true);
    expect(restrictedSessionMayUse('POST', '/api/factors/passkeys/verify')).toBe(true);
    expect(restrictedSessionMayUse('GET', '/api/factors')).toBe(false);
    expect(restrictedSessionMayUse('DELETE', '/api/session/passkey-invitation')).toBe(false);
    expect(restrictedSessionMayUse('POST', '/api/factors/totp/setup')).toBe(false);
    // The proxy's question answers a restricted session by sending it to sign-in, never into the app (forward-auth.restricted-session).
    expect(restrictedSessionMayUse('GET', '/api/forward-auth')).toBe(true);
    expect(restrictedSessionMayUse('POST', '/api/forward-auth/continue')).toBe(false);
  });

  it('the notice counts days at read time', () => {
    const session = { restricted_reason: null, passkey_invited_at: new Date('2026-12-01T09:00:00Z'), rollout_deadline: DEADLINE };
    expect(rolloutNotice(session, new Date('2026-12-08T09:00:00Z'))).toEqual({ invite: true, daysLeft: 2, deadline: DEADLINE.toISOString() });
    expect(rolloutNotice({ ...session, restricted_reason: 'passkey_required' }, new Date())).toEqual({ restricted: true, since: DEADLINE.toISOString() });
    expect(rolloutNotice({ ...session, passkey_invited_at: null }, new Date())).toBeNull();
  });

  it('an automatic upgrade is allowed within five minutes of a password + TOTP sign-in only', () => {
    const created_at = new Date('2026-12-01T09:00:00Z');
    const at = (seconds: number) => new Date(created_at.getTime() + seconds * 1000);
    expect(automaticUpgradeAllowed({ amr: ['otp', 'pwd'], created_at }, at(300))).toBe(true);
    expect(automaticUpgradeAllowed({ amr: ['otp', 'pwd'], created_at }, at(301))).toBe(false);
    expect(automaticUpgradeAllowed({ amr: ['backup_code', 'pwd'], created_at }, at(10))).toBe(false);
    expect(automaticUpgradeAllowed({ amr: ['pwd', 'remembered_device'], created_at }, at(10))).toBe(false);
    expect(automaticUpgradeAllowed({ amr: ['passkey', 'uv'], created_at }, at(10))).toBe(false);
  });
});
