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
