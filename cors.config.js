// API Gateway's CORS settings for the HTTP API, from CORS_ALLOWED_ORIGINS (read by
// serverless.yml through `${file(./cors.config.js):httpApiCors}`, at package/deploy time and by
// serverless-offline). API Gateway answers preflights itself and sets the CORS headers.
//
// Exact origins only, with credentials (the refresh cookie). With no origin configured, CORS is
// off: the list holds one origin that can never match (`.invalid` is reserved), so no real
// origin gets a CORS header. (Leaving `cors` unset would make serverless-offline reflect every
// origin with credentials, unlike API Gateway.)
module.exports.httpApiCors = () => {
  const origins = (process.env.CORS_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  // The same rule as lib/config.ts, so a wildcard fails the deploy, not every request after it.
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s*]+$/.test(origin)) {
      throw new Error(`CORS_ALLOWED_ORIGINS must list exact origins like https://app.example.com (no "*", no path), got "${origin}".`);
    }
  }
  return {
    allowedOrigins: origins.length > 0 ? origins : ['https://cors-disabled.invalid'],
    allowCredentials: true,
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Requested-With'],
    allowedMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    maxAge: 600,
  };
};
