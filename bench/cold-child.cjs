'use strict';
/**
 * One cold start: loads an esbuild bundle of a function in this fresh `node` process and runs
 * its first invocation, the local stand-in for Lambda's INIT + first INVOKE, then a second
 * (warm) one to tell the cold-start cost from the work of the request itself. Started by
 * bench/cold-start.ts with the function's environment; plain JavaScript so that nothing but
 * the bundle is loaded. The figures go to stdout on a line of their own after the function's
 * log lines.
 */
const bootMs = performance.now();
const { bundle, events, context } = JSON.parse(process.env.BENCH_COLD_INPUT);
context.getRemainingTimeInMillis = () => 10000;

const outcomeOf = (result) => {
  if (result && 'isAuthorized' in result) return `isAuthorized=${result.isAuthorized}`;
  // The admin Lambda answers its result, or {error, message}, with no HTTP status.
  if (result && !('statusCode' in result)) return 'error' in result ? `admin=${result.error}` : 'admin=ok';
  return `status=${result && result.statusCode}`;
};

async function main() {
  const start = performance.now();
  const { handler } = require(bundle);
  const loaded = performance.now();
  const first = await handler(events[0], context);
  const firstDone = performance.now();
  const second = await handler(events[1], context);
  const secondDone = performance.now();
  return {
    bootMs,
    loadMs: loaded - start,
    firstInvokeMs: firstDone - loaded,
    warmInvokeMs: secondDone - firstDone,
    outcome: outcomeOf(first),
    warmOutcome: outcomeOf(second),
  };
}

main().then(
  (figures) => process.stdout.write(`\nBENCH_COLD ${JSON.stringify(figures)}\n`, () => process.exit(0)),
  (error) => {
    process.stderr.write(`cold start of ${bundle} failed: ${error && error.message}\n`);
    process.exit(1);
  },
);
