/**
 * A software WebAuthn authenticator for tests in Node, written from the WebAuthn Level 3
 * spec (§6.1 authenticator data, §6.5 attestation "none", §6.3.3 assertion signatures) and
 * independent of the server's library: it makes real P-256 keys, signs real assertions and
 * keeps a real signature counter, so the server's verification runs in full. (The browser
 * tests drive Chromium's own virtual authenticator instead.)
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

export interface SoftCredential {
  id: string;
  rpId: string;
  /** The user handle (base64url) the RP gave at registration. */
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

function authenticatorData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
}

export function softAuthenticator(options: { origin: string; userVerification?: boolean; counterStep?: number; transports?: string[] }) {
  const credentials: SoftCredential[] = [];
  const uvFlag = options.userVerification === false ? 0 : FLAG_UV;
  const step = options.counterStep ?? 1;

  return {
    credentials,

    /** `navigator.credentials.create()` for these options: the RegistrationResponseJSON. */
    create(creation: CreationOptions) {
      const rpId = creation.rp.id ?? new URL(options.origin).hostname;
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicKey.export({ format: 'jwk' });
      const credentialId = randomBytes(16);
      // COSE_Key (RFC 9053): kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
      const coseKey = isoCBOR.encode(new Map<number, number | Uint8Array>([
        [1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')],
      ]));
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credentialId.length);
      const attested = Buffer.concat([Buffer.alloc(16), idLength, credentialId, Buffer.from(coseKey)]);
      const authData = authenticatorData(rpId, FLAG_UP | uvFlag | FLAG_AT, 0, attested);
      const attestationObject = isoCBOR.encode(new Map<string, string | Map<string, string> | Uint8Array>([['fmt', 'none'], ['attStmt', new Map<string, string>()], ['authData', authData]]));
      const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: creation.challenge, origin: options.origin, crossOrigin: false });
      const credential: SoftCredential = { id: b64url(credentialId), rpId, userHandle: creation.user.id, privateKey, counter: 0 };
      credentials.push(credential);
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64url(Buffer.from(clientDataJSON)),
          attestationObject: b64url(attestationObject),
          transports: options.transports ?? ['internal'],
        },
      };
    },

    /**
     * `navigator.credentials.get()` for these options: the AuthenticationResponseJSON, by the
     * first allowed credential held (or `credential`, or the first held for a discoverable
     * request). `counter` overrides the counter sent (a cloned key's stale one).
     */
    get(request: RequestOptions, choose: { credential?: SoftCredential; counter?: number } = {}) {
      const allowed = new Set((request.allowCredentials ?? []).map((c) => c.id));
      const credential = choose.credential ?? credentials.find((c) => allowed.size === 0 || allowed.has(c.id));
      if (!credential) throw new Error('no credential of this authenticator is allowed');
      credential.counter += step;
      const counter = choose.counter ?? credential.counter;
      const authData = authenticatorData(request.rpId ?? credential.rpId, FLAG_UP | uvFlag, counter);
      const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: request.challenge, origin: options.origin, crossOrigin: false }));
      const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
      return {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key',
        clientExtensionResults: {},
        response: {
          clientDataJSON: b64url(clientDataJSON),
          authenticatorData: b64url(authData),
          signature: b64url(signature),
          userHandle: credential.userHandle,
        },
      };
    },
  };
}
