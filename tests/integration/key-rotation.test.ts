import { describe, expect, it } from 'vitest';
import { authorize, login } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { registerUser } from '../../lib/users/users';
import { generateSigningKey } from '../../dev/keys';
import { createTestDeps, testContext } from '../support/deps';

/** The rotation procedure of docs/operations.md, step by step, against real Redis. */
describe('signing key rotation without downtime', () => {
  it('walks add-verify-key, switch signing, wait, remove old', async () => {
    const oldKey = await generateSigningKey('EdDSA');
    const newKey = await generateSigningKey('EdDSA');
    const jwkSet = (...keys: Record<string, unknown>[]) => JSON.stringify({ keys });

    // Step 0: signing with the old key.
    const base = await createTestDeps({ JWT_PRIVATE_KEY: JSON.stringify(oldKey.privateJwk) });
    const prefix = base.config.redisKeyPrefix;
    const deploy = (env: Record<string, string>): Promise<Deps> =>
      createTestDeps({ REDIS_KEY_PREFIX: prefix, ...env });
    await registerUser(base, { email: 'rotate@example.com', password: 'rotation-pass' }, testContext());
    const signIn = async (deps: Deps) =>
      (await login(deps, { email: 'rotate@example.com', password: 'rotation-pass' }, testContext())).accessToken;
    const tokenOfOldKey = await signIn(base);

    // Step 1: the new key's public half is added as verify-only; signing is unchanged.
    const step1 = await deploy({ JWT_PRIVATE_KEY: JSON.stringify(oldKey.privateJwk), JWT_VERIFY_KEYS: jwkSet(newKey.publicJwk) });
    expect(step1.keyRing.jwks.keys.map((key) => key.kid).sort()).toEqual([oldKey.privateJwk.kid, newKey.privateJwk.kid].sort());
    expect(step1.keyRing.jwks.keys.every((key) => !('d' in key))).toBe(true);
    expect(await authorize(step1, tokenOfOldKey)).not.toBeNull();

    // Step 3: switch signing to the new key; the old key's public half stays verify-only.
    const step3 = await deploy({ JWT_PRIVATE_KEY: JSON.stringify(newKey.privateJwk), JWT_VERIFY_KEYS: jwkSet(oldKey.publicJwk) });
    const tokenOfNewKey = await signIn(step3);
    expect(JSON.parse(Buffer.from(tokenOfNewKey.split('.')[0]!, 'base64url').toString()).kid).toBe(newKey.privateJwk.kid);
    expect(await authorize(step3, tokenOfOldKey)).not.toBeNull();
    expect(await authorize(step3, tokenOfNewKey)).not.toBeNull();
    // The previous deployment (still running somewhere during the deploy) accepts new tokens too.
    expect(await authorize(step1, tokenOfNewKey)).not.toBeNull();

    // Step 5: the old key is removed: its tokens are refused, the new key's still work.
    const step5 = await deploy({ JWT_PRIVATE_KEY: JSON.stringify(newKey.privateJwk) });
    expect(step5.keyRing.jwks.keys.map((key) => key.kid)).toEqual([newKey.privateJwk.kid]);
    expect(await authorize(step5, tokenOfOldKey)).toBeNull();
    expect(await authorize(step5, tokenOfNewKey)).not.toBeNull();
  });
});
