import { httpHandler, json } from './http';
import { JWKS_MAX_AGE_SECONDS } from './jwks';

/**
 * GET /.well-known/oauth-authorization-server → RFC 8414 metadata, so verifiers can discover
 * the keys from the issuer alone: `issuer` (the `iss` of every access token), `jwks_uri`, and
 * the algorithms access tokens are signed with. This service is not an OAuth authorization
 * server (no authorization or token endpoint), so `response_types_supported`, which RFC 8414
 * requires, is empty; `access_token_signing_alg_values_supported` is an extension field.
 */
export const handler = httpHandler({ body: 'none', needs: { publish: true } }, async ({ deps }) => {
  const { config, keyRing } = deps;
  return json(
    200,
    {
      issuer: config.jwtIssuer,
      jwks_uri: `${config.jwtIssuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
      response_types_supported: [],
      access_token_signing_alg_values_supported: keyRing.algorithms,
    },
    { 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` },
  );
});
