import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { TEST_ORIGIN } from './app.ts';

/**
 * A software authenticator for the tests: a P-256 key per credential producing real attestation
 * objects (fmt "none") and real signed assertions, exactly as a browser would hand them to the
 * server. Every field a threat test needs to bend (flags, counter, origin, type, user handle,
 * signature) can be bent per call.
 */

export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  publicKeyCose: Uint8Array;
  rpId: string;
  /** base64url, as the server's options gave it. */
  userHandle: string;
  signCount: number;
  backupEligible: boolean;
  backedUp: boolean;
}

/** Per-call deviations from an honest authenticator and browser. */
export interface Tamper {
  origin?: string;
  type?: string;
  challenge?: string;
  rpId?: string;
  up?: boolean;
  uv?: boolean;
  be?: boolean;
  bs?: boolean;
  /** The counter to report (registration: the initial one). */
  counter?: number;
  /** null: send no userHandle. */
  userHandle?: string | null;
  corruptSignature?: boolean;
  /** Claim this COSE algorithm for the (P-256) key at registration. */
  coseAlg?: number;
  /** Register this credential id instead of a fresh random one. */
  credentialIdBytes?: Buffer;
  /** Registration: the browser's `id`/`rawId`, when it should differ from the id in the authenticator data. */
  responseId?: string;
  /** Assert with this credential (otherwise the first one the options allow). */
  credential?: SoftCredential;
}

export interface SoftAuthenticatorSettings {
  origin?: string;
  aaguid?: string;
  /** Whether the user verifies (PIN, biometrics); default true. */
  uv?: boolean;
  backupEligible?: boolean;
  backedUp?: boolean;
  /** How much the counter grows per assertion; 0 models the authenticators that never count (synced passkeys). */
  counterStep?: number;
  transports?: string[];
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(readonly settings: SoftAuthenticatorSettings = {}) {}

  register(options: PublicKeyCredentialCreationOptionsJSON, tamper: Tamper = {}): RegistrationResponseJSON {
    const rpId = options.rp.id!;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rawId = tamper.credentialIdBytes ?? randomBytes(16);
    const credential: SoftCredential = {
      id: rawId.toString('base64url'),
      privateKey,
      publicKeyCose: coseKey(publicKey, tamper.coseAlg ?? -7),
      rpId,
      userHandle: options.user.id,
      signCount: tamper.counter ?? 0,
      backupEligible: tamper.be ?? this.settings.backupEligible ?? false,
      backedUp: tamper.bs ?? this.settings.backedUp ?? false,
    };
    const authData = Buffer.concat([
      sha256(tamper.rpId ?? rpId),
      Buffer.from([this.flags(tamper, credential) | FLAG_AT]),
      uint32(credential.signCount),
      aaguidBytes(this.settings.aaguid ?? '00000000-0000-0000-0000-000000000000'),
      uint16(rawId.length),
      rawId,
      Buffer.from(credential.publicKeyCose),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]) as never,
    );
    this.credentials.push(credential);
    return {
      id: tamper.responseId ?? credential.id,
      rawId: tamper.responseId ?? credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: this.clientData('webauthn.create', options.challenge, tamper),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: (this.settings.transports ?? ['internal', 'hybrid']) as never,
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  assert(options: PublicKeyCredentialRequestOptionsJSON, tamper: Tamper = {}): AuthenticationResponseJSON {
    const credential = tamper.credential ?? this.pick(options);
    if (tamper.counter !== undefined) credential.signCount = tamper.counter;
    else credential.signCount += this.settings.counterStep ?? 1;
    const authData = Buffer.concat([
      sha256(tamper.rpId ?? credential.rpId),
      Buffer.from([this.flags(tamper, credential)]),
      uint32(credential.signCount),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, tamper);
    let signature = sign('sha256', Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]), credential.privateKey);
    if (tamper.corruptSignature) signature = sign('sha256', randomBytes(32), credential.privateKey);
    const userHandle = tamper.userHandle === undefined ? credential.userHandle : tamper.userHandle;
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle === null ? {} : { userHandle }),
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /** Like a browser: the first allowed credential we hold, or (discoverable) any for this RP. */
  private pick(options: PublicKeyCredentialRequestOptionsJSON): SoftCredential {
    const allowed = options.allowCredentials?.map((descriptor) => descriptor.id);
    const credential = this.credentials.find(
      (candidate) => candidate.rpId === (options.rpId ?? candidate.rpId) && (!allowed || allowed.length === 0 || allowed.includes(candidate.id)),
    );
    if (!credential) throw new Error('SoftAuthenticator: no credential matches the options');
    return credential;
  }

  private flags(tamper: Tamper, credential: SoftCredential): number {
    let flags = 0;
    if (tamper.up ?? true) flags |= FLAG_UP;
    if (tamper.uv ?? this.settings.uv ?? true) flags |= FLAG_UV;
    if (tamper.be ?? credential.backupEligible) flags |= FLAG_BE;
    if (tamper.bs ?? credential.backedUp) flags |= FLAG_BS;
    return flags;
  }

  private clientData(type: string, challenge: string, tamper: Tamper): string {
    const data = {
      type: tamper.type ?? type,
      challenge: tamper.challenge ?? challenge,
      origin: tamper.origin ?? this.settings.origin ?? TEST_ORIGIN,
      crossOrigin: false,
    };
    return Buffer.from(JSON.stringify(data)).toString('base64url');
  }
}

/** The COSE_Key (RFC 9053) of a P-256 public key: kty EC2, alg ES256, crv P-256, x, y. */
function coseKey(publicKey: KeyObject, alg: number): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, alg],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]) as never,
  );
}

function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function uint16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function aaguidBytes(aaguid: string): Buffer {
  return Buffer.from(aaguid.replace(/-/g, ''), 'hex');
}
