import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { createDummyHash, hashPassword, normalizePassword, verifyPassword } from '../../lib/users/passwords';
import { codeOf } from './fixtures';

/** Cost 4: the cheapest bcrypt allows, so the suite stays fast. */
const COST = 4;

describe('passwords', () => {
  describe('normalizePassword', () => {
    it('returns the NFKC form', () => {
      expect(normalizePassword('pass\uFB01sh1', true)).toBe('passfish1'); // "ﬁ" ligature
      expect(normalizePassword('caf\u0065\u0301-latte', true)).toBe('caf\u00E9-latte'); // decomposed é
      expect(normalizePassword('\uFF50\uFF41\uFF53\uFF53\uFF11\uFF12\uFF13\uFF14', true)).toBe('pass1234'); // full width
    });

    it('accepts 8 to 256 code points on register and refuses 7 and 257', () => {
      expect(normalizePassword('a'.repeat(8), true)).toHaveLength(8);
      expect(normalizePassword('a'.repeat(256), true)).toHaveLength(256);
      expect(codeOf(() => normalizePassword('a'.repeat(7), true))).toBe('invalid_request');
      expect(codeOf(() => normalizePassword('a'.repeat(257), true))).toBe('invalid_request');
      expect(codeOf(() => normalizePassword('', true))).toBe('invalid_request');
    });

    it('counts an emoji as one character, not as two UTF-16 units', () => {
      expect(codeOf(() => normalizePassword('😀'.repeat(7), true))).toBe('invalid_request'); // 14 UTF-16 units
      expect(normalizePassword('😀'.repeat(8), true)).toBe('😀'.repeat(8));
      expect(normalizePassword('😀'.repeat(256), true)).toBe('😀'.repeat(256)); // 512 UTF-16 units
      expect(codeOf(() => normalizePassword('😀'.repeat(257), true))).toBe('invalid_request');
    });

    it('counts the length after NFKC', () => {
      // 8 code points as typed, 4 after composition: too short.
      expect(codeOf(() => normalizePassword('e\u0301'.repeat(4), true))).toBe('invalid_request');
      // 3 code points as typed, 9 after expanding the "ﬃ" ligature: long enough.
      expect(normalizePassword('\uFB03'.repeat(3), true)).toBe('ffi'.repeat(3));
      // 200 code points as typed, 600 after expansion: too long.
      expect(codeOf(() => normalizePassword('\uFB03'.repeat(200), true))).toBe('invalid_request');
    });

    it('does not enforce the minimum on login, but still the maximum', () => {
      expect(normalizePassword('short', false)).toBe('short');
      expect(codeOf(() => normalizePassword('a'.repeat(257), false))).toBe('invalid_request');
    });

    it.each([[12345678], [null], [undefined], [['password1']], [{ toString: () => 'password1' }], [true]])(
      'refuses %j (not a string) with invalid_request',
      (value) => {
        expect(codeOf(() => normalizePassword(value, true))).toBe('invalid_request');
        expect(codeOf(() => normalizePassword(value, false))).toBe('invalid_request');
      },
    );
  });

  describe('hashing', () => {
    it('stores a bcrypt hash of the configured cost that verifies the password and nothing else', async () => {
      const hash = await hashPassword('correct horse battery', COST);
      expect(bcrypt.getRounds(hash)).toBe(COST);
      expect(hash).not.toContain('correct horse battery');
      expect(await verifyPassword('correct horse battery', hash)).toBe(true);
      expect(await verifyPassword('correct horse battery ', hash)).toBe(false);
      expect(await verifyPassword('Correct horse battery', hash)).toBe(false);
    });

    it('treats composed and decomposed accents, and ligatures, as one password', async () => {
      const hash = await hashPassword(normalizePassword('caf\u00E9-pass\uFB01sh', true), COST);
      expect(await verifyPassword(normalizePassword('cafe\u0301-passfish', false), hash)).toBe(true);
    });

    it('does not truncate at 72 bytes: passwords sharing their first 72 bytes differ', async () => {
      const hash = await hashPassword(`${'A'.repeat(72)}B`, COST);
      expect(await verifyPassword(`${'A'.repeat(72)}B`, hash)).toBe(true);
      expect(await verifyPassword(`${'A'.repeat(72)}C`, hash)).toBe(false);
      expect(await verifyPassword('A'.repeat(72), hash)).toBe(false);
    });

    it('does not truncate multi-byte passwords either (36 × "é" = 72 bytes)', async () => {
      const hash = await hashPassword(`${'é'.repeat(36)}x`, COST);
      expect(await verifyPassword(`${'é'.repeat(36)}y`, hash)).toBe(false);
      expect(await verifyPassword(`${'é'.repeat(36)}x`, hash)).toBe(true);
    });

    it('salts: one password hashed twice gives two hashes', async () => {
      expect(await hashPassword('password1', COST)).not.toBe(await hashPassword('password1', COST));
    });
  });

  describe('createDummyHash', () => {
    it('is a well-formed bcrypt hash of the requested cost', () => {
      for (const cost of [4, 10, 12]) {
        const dummy = createDummyHash(cost);
        expect(dummy).toMatch(/^\$2b\$\d\d\$[./A-Za-z0-9]{53}$/);
        expect(bcrypt.getRounds(dummy)).toBe(cost);
        expect(bcrypt.getSalt(dummy)).toBe(dummy.slice(0, 29)); // $2b$NN$ + 22 salt characters
      }
    });

    it('has a salt bcrypt accepts, so comparing against it runs the full key schedule', () => {
      // bcryptjs compares by hashing the candidate with the stored salt: a salt it accepts
      // means a compare of the same cost as against a real hash, not an early return.
      const dummy = createDummyHash(COST);
      const salt = dummy.slice(0, 29);
      const rehash = bcrypt.hashSync('anything', salt);
      expect(rehash.startsWith(salt)).toBe(true);
      expect(rehash).toHaveLength(60);
      expect(bcrypt.getRounds(rehash)).toBe(COST);
    });

    it('matches no password', async () => {
      const dummy = createDummyHash(COST);
      for (const password of ['', 'password1', 'a'.repeat(256), dummy]) {
        expect(await verifyPassword(password, dummy)).toBe(false);
      }
    });

    it('is random: no two dummy hashes are the same', () => {
      expect(createDummyHash(COST)).not.toBe(createDummyHash(COST));
    });
  });
});

describe('normalizePassword and lone surrogates (issue 11)', () => {
  it('refuses passwords that are not well-formed UTF-16 instead of merging them', () => {
    expect(codeOf(() => normalizePassword('password\ud800', false))).toBe('invalid_request');
    expect(codeOf(() => normalizePassword('password\udfff', true))).toBe('invalid_request');
    expect(normalizePassword('password\ud83d\ude00', true)).toBe('password\ud83d\ude00');
  });
});
