import { httpHandler, json } from './http';

/** Verifiers may cache the key set this long; rotation waits longer than this (docs/operations.md, "Keys and rotation"). */
export const JWKS_MAX_AGE_SECONDS = 300;

/** GET /.well-known/jwks.json → the public verification keys (empty under HS256). */
export const handler = httpHandler({ body: 'none', needs: { publish: true } }, async ({ deps }) => {
  return json(200, deps.keyRing.jwks, { 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` });
});
