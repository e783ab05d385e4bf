import { describe, expect, it } from 'vitest';
import { sanitizeDeviceName, sessionDeadline } from '../../lib/sessions/sessions';
import { NOW_MS } from './fixtures';

const DAY_MS = 24 * 3600 * 1000;
const REFRESH_TTL_S = 7 * 24 * 3600; // idle timeout = refresh token lifetime
const CREATED_MS = NOW_MS;
const ABSOLUTE_MS = CREATED_MS + 30 * DAY_MS;

describe('sessionDeadline', () => {
  it('is the idle deadline (last refresh + refresh TTL) while that comes first', () => {
    expect(sessionDeadline(CREATED_MS, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(CREATED_MS + 7 * DAY_MS);
  });

  it('moves the idle deadline with every refresh', () => {
    expect(sessionDeadline(CREATED_MS + 3 * DAY_MS, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(CREATED_MS + 10 * DAY_MS);
    expect(sessionDeadline(CREATED_MS + 20 * DAY_MS, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(CREATED_MS + 27 * DAY_MS);
  });

  it('never extends past the absolute deadline, however recent the refresh', () => {
    expect(sessionDeadline(CREATED_MS + 25 * DAY_MS, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(ABSOLUTE_MS);
    expect(sessionDeadline(CREATED_MS + 29 * DAY_MS + 1, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(ABSOLUTE_MS);
    expect(sessionDeadline(ABSOLUTE_MS + DAY_MS, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(ABSOLUTE_MS);
  });

  it('switches from idle to absolute exactly where they meet', () => {
    const meet = ABSOLUTE_MS - REFRESH_TTL_S * 1000;
    expect(sessionDeadline(meet - 1, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(ABSOLUTE_MS - 1);
    expect(sessionDeadline(meet, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(ABSOLUTE_MS);
    expect(sessionDeadline(meet + 1, ABSOLUTE_MS, REFRESH_TTL_S)).toBe(ABSOLUTE_MS);
  });

  it('is the absolute deadline when it is shorter than one idle period', () => {
    expect(sessionDeadline(CREATED_MS, CREATED_MS + DAY_MS, REFRESH_TTL_S)).toBe(CREATED_MS + DAY_MS);
  });
});

describe('sanitizeDeviceName (issue 11)', () => {
  it('strips control and format characters and lone surrogates', () => {
    expect(sanitizeDeviceName('  lap\u0000top\u200b\u202e\u001b[31m \ud800')).toBe('laptop[31m');
  });

  it('caps at 100 code points without splitting a pair', () => {
    expect(sanitizeDeviceName('a'.repeat(150))).toBe('a'.repeat(100));
    const emoji = '\ud83d\ude00'.repeat(150);
    expect(sanitizeDeviceName(emoji)).toBe('\ud83d\ude00'.repeat(100));
  });
});
