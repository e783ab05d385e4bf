import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../lib/users/users';
import { codeOf } from './fixtures';

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Alice@Example.COM \n')).toBe('alice@example.com');
    expect(normalizeEmail('alice@example.com')).toBe('alice@example.com');
  });

  it('gives one form for every spelling of one address', () => {
    const forms = ['BOB@example.org', ' bob@EXAMPLE.org', 'Bob@Example.Org\t'].map(normalizeEmail);
    expect(new Set(forms)).toEqual(new Set(['bob@example.org']));
  });

  it.each([[42], [null], [undefined], [{ $ne: null }], [['a@b.co']], [true]])('refuses %j (not a string) with invalid_request', (value) => {
    expect(codeOf(() => normalizeEmail(value))).toBe('invalid_request');
  });

  it.each(['', '   ', 'alice', 'alice.example.com', '@example.com', 'alice@', 'al ice@example.com', 'alice@@example.com'])(
    'refuses %j (not an address) with invalid_request',
    (value) => {
      expect(codeOf(() => normalizeEmail(value))).toBe('invalid_request');
    },
  );

  it('accepts 254 characters and refuses 255', () => {
    const domain = '@example.com';
    const at254 = `${'a'.repeat(254 - domain.length)}${domain}`;
    expect(normalizeEmail(at254)).toBe(at254);
    expect(normalizeEmail(`  ${at254}  `)).toBe(at254); // the limit applies after trimming
    expect(codeOf(() => normalizeEmail(`a${at254}`))).toBe('invalid_request');
  });
});

describe('normalizeEmail and Unicode (issue 11)', () => {
  it('refuses strings that are not well-formed UTF-16 instead of merging them', () => {
    expect(codeOf(() => normalizeEmail('x\ud800@example.com'))).toBe('invalid_request');
    expect(codeOf(() => normalizeEmail('x\udfff@example.com'))).toBe('invalid_request');
    expect(codeOf(() => normalizeEmail('x@exa\ud800mple.com'))).toBe('invalid_request');
    expect(normalizeEmail('x\ud83d\ude00@example.com')).toBe('x\ud83d\ude00@example.com'); // a pair is fine
  });

  it.each(['a\u0000b@example.com', 'a\u0007@example.com', 'a\u200bb@example.com', 'a\u202eb@example.com', '<script>@example.com',
    'a<b@example.com', 'a"b@example.com', 'a\u00a0b@example.com', 'a@exam\u200bple.com', 'a@[127.0.0.1]'])(
    'refuses %j (control, format, whitespace or special characters)',
    (value) => {
      expect(codeOf(() => normalizeEmail(value))).toBe('invalid_request');
    },
  );

  it('gives NFC and NFD spellings of the local part one form', () => {
    expect(normalizeEmail('Jos\u00e9@example.com')).toBe(normalizeEmail('Jose\u0301@example.com'));
    expect(normalizeEmail('Jose\u0301@example.com')).toBe('jos\u00e9@example.com');
  });

  it('converts the domain with IDNA: Unicode, punycode and full-width spellings are one domain', () => {
    expect(normalizeEmail('a@b\u00fccher.example')).toBe('a@xn--bcher-kva.example');
    expect(normalizeEmail('a@XN--BCHER-KVA.example')).toBe('a@xn--bcher-kva.example');
    expect(normalizeEmail('a@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com')).toBe('a@example.com');
  });

  it('refuses a domain IDNA refuses', () => {
    expect(codeOf(() => normalizeEmail('a@xn--a.example'))).toBe('invalid_request');
    expect(codeOf(() => normalizeEmail('a@exa_mple.com'))).toBe('invalid_request');
  });
});
