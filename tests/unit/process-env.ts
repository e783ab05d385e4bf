import { vi } from 'vitest';

/**
 * Sets `env` on process.env for a module that reads its configuration at import (the Lambda
 * handlers build their deps once per cold start), and returns the function that puts
 * process.env back as it was. Call `vi.resetModules()` before importing the module.
 */
export function setProcessEnv(env: Record<string, string | undefined>): () => void {
  const saved = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    vi.resetModules();
  };
}
