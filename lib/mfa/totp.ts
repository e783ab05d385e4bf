import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { create as createQrCode } from 'qrcode/lib/core/qrcode';
import { render as renderSvg } from 'qrcode/lib/renderer/svg-tag';
import type { Config } from '../config';
import { ConfigError } from '../errors';

/** RFC 6238 as SPEC.md fixes it: SHA-1, 6 digits, 30 s steps, one step of skew either way. */
const PERIOD_S = 30;
const WINDOW = 1;

/** A new TOTP secret (160 random bits, RFC 4226's recommendation), as base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpOf(config: Config, secret: string, label: string): TOTP {
  return new TOTP({ issuer: config.totpIssuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: Secret.fromBase32(secret) });
}

/** The `otpauth://` URI an authenticator app imports, and the same as a QR code (SVG). */
export async function totpEnrollment(config: Config, secret: string, label: string): Promise<{ otpauthUri: string; qrCodeSvg: string }> {
  const otpauthUri = totpOf(config, secret, label).toString();
  // What QRCode.toString(uri, {type: 'svg'}) does, without the package's PNG renderer (qrcode-svg.d.ts).
  return { otpauthUri, qrCodeSvg: renderSvg(createQrCode(otpauthUri, { errorCorrectionLevel: 'M' }), { type: 'svg', errorCorrectionLevel: 'M' }) };
}

/**
 * The step (30 s counter) a 6-digit code belongs to at `nowMs`, within one step of skew either
 * way, or `null` when it matches none. Whether that step was already used is Redis's to say.
 */
export function totpStep(config: Config, secret: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(config, secret, 'check').validate({ token: code, timestamp: nowMs, window: WINDOW });
  return delta === null ? null : Math.floor(nowMs / 1000 / PERIOD_S) + delta;
}

/**
 * Seals a TOTP secret for Redis: AES-256-GCM under a key derived from AUTH_SECRET (config
 * `totpSealKeys`), `v1.<iv>.<ciphertext>.<tag>`. Redis alone never yields a secret.
 */
export function sealTotpSecret(config: Config, secret: string): string {
  const key = config.totpSealKeys[0];
  if (!key) throw new ConfigError('AUTH_SECRET is required by a function that handles TOTP.');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return ['v1', iv, data, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

/** {@link sealTotpSecret} undone, under the current key or AUTH_SECRET_PREVIOUS's; `null` if neither opens it. */
export function openTotpSecret(config: Config, sealed: string): string | null {
  const [version, iv, data, tag] = sealed.split('.');
  if (version !== 'v1' || !iv || !data || !tag) return null;
  for (const key of config.totpSealKeys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // another key, or not ours
    }
  }
  return null;
}

const RECOVERY_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // 32 symbols, no 0/O/1/I

/** 10 recovery codes of 16 symbols (80 random bits each), shown once, as `XXXX-XXXX-XXXX-XXXX`. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: 10 }, () => {
    const bytes = randomBytes(16);
    const symbols = [...bytes].map((byte) => RECOVERY_ALPHABET[byte % 32]).join('');
    return symbols.match(/.{4}/g)!.join('-');
  });
}

/** The stored form of a recovery code: SHA-256 of it without dashes, spaces or case. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code.replace(/[\s-]/g, '').toUpperCase()).digest('base64url');
}
