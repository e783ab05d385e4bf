import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sdk from '../../client/src/index';

/** The built package (client/dist, built by the global setup), as an app imports it. */
export const CLIENT_DIST = path.resolve(__dirname, '../../client/dist/index.js');

export function loadSdk(): Promise<typeof Sdk> {
  return import(pathToFileURL(CLIENT_DIST).href) as Promise<typeof Sdk>;
}
