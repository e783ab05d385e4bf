import { build } from 'esbuild';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_SIZE_LIMIT_BYTES, clientSize } from '../../dev/build-client';

describe('client SDK package', () => {
  it(`stays within ${CLIENT_SIZE_LIMIT_BYTES} bytes minified and gzipped`, async () => {
    const { gzippedBytes } = await clientSize();
    expect(gzippedBytes).toBeGreaterThan(1000);
    expect(gzippedBytes).toBeLessThanOrEqual(CLIENT_SIZE_LIMIT_BYTES);
  });

  it('imports nothing at run time but @simplewebauthn/browser, and that one lazily', async () => {
    const result = await build({
      entryPoints: [path.resolve(__dirname, '../../client/src/index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'neutral',
      packages: 'external',
      logLevel: 'silent',
    });
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
    expect(imports.map((entry) => [entry.path, entry.kind])).toEqual([['@simplewebauthn/browser', 'dynamic-import']]);
  });
});
