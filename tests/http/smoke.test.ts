import { describe, expect, it, inject } from 'vitest';

describe('http smoke', () => {
  it('serves the JWKS', async () => {
    const response = await fetch(`${inject('apiUrl')}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
  });
});
