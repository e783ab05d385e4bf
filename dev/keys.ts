import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

/**
 * A new signing key pair as JWKs: the private one (with `kid`, for JWT_PRIVATE_KEY / the SSM
 * parameter) and its public half (for JWT_VERIFY_KEYS during a rotation).
 */
export async function generateSigningKey(algorithm: SigningAlgorithm = 'EdDSA'): Promise<{ privateJwk: Record<string, unknown>; publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair(algorithm, { crv: algorithm === 'EdDSA' ? 'Ed25519' : undefined, extractable: true });
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: algorithm, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: algorithm, use: 'sig' };
  return { privateJwk, publicJwk };
}

/** The public half of a private JWK (what JWT_PUBLIC_KEY holds), with its `kid`. */
export function publicJwkOf(privateJwk: Record<string, unknown>): Record<string, unknown> {
  const { d: _private, ...rest } = privateJwk;
  return rest;
}

/** A random secret of 48 bytes, for HS256 or AUTH_SECRET (the minimum is 32). */
export function generateHmacSecret(): string {
  return randomBytes(48).toString('base64url');
}

// `npm run keys [EdDSA|ES256]`: prints a new key pair for a deployment or a rotation.
if (require.main === module) {
  const algorithm = (process.argv[2] ?? 'EdDSA') as SigningAlgorithm;
  if (algorithm !== 'EdDSA' && algorithm !== 'ES256') {
    console.error('usage: npm run keys [EdDSA|ES256]');
    process.exit(2);
  }
  void generateSigningKey(algorithm).then(({ privateJwk, publicJwk }) => {
    console.log(`# Private JWK (kid ${String(privateJwk.kid)}): store it as a String parameter (CloudFormation cannot put a SecureString into a Lambda environment), never in the repo:`);
    console.log(`#   aws ssm put-parameter --type String --name /serverless-auth/<stage>/jwt-private-key --value '<the JSON below>'`);
    console.log(JSON.stringify(privateJwk));
    console.log('\n# Public JWK: the jwt-public-key parameter (JWT_PUBLIC_KEY) of the functions that only verify, once it signs;');
    console.log('# during a rotation, add it to JWT_VERIFY_KEYS ({"keys":[...]}) one deploy before switching signing to it:');
    console.log(`#   aws ssm put-parameter --type String --name /serverless-auth/<stage>/jwt-public-key --value '<the JSON below>'`);
    console.log(JSON.stringify(publicJwk));
    console.log('\n# AUTH_SECRET: every server-held key is derived from it (refresh-token MACs, known-device tags). To rotate it,');
    console.log('# move the old value to AUTH_SECRET_PREVIOUS for one refresh-token lifetime:');
    console.log(`#   aws ssm put-parameter --type String --name /serverless-auth/<stage>/auth-secret --value '${generateHmacSecret()}'`);
  });
}
