/**
 * Least privilege, read from serverless.yml as the framework reads it (YAML merge keys
 * included): each function's environment holds the settings and exactly the secrets of the
 * needs its handler declares (lib/config.ts `ConfigNeeds`): no Redis credentials for jwks and
 * metadata, no private key or refresh-token secret for the authorizer and the store-only
 * functions, and nothing secret for the example function.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '../..');
const template = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true }) as {
  provider: { logRetentionInDays?: number };
  functions: Record<string, { handler: string; environment?: Record<string, string> }>;
  resources?: { extensions?: Record<string, { DeletionPolicy?: string; UpdateReplacePolicy?: string }> };
};

const SECRETS_BY_NEED = {
  store: ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN'],
  sign: ['JWT_PRIVATE_KEY', 'JWT_SECRET', 'AUTH_SECRET', 'AUTH_SECRET_PREVIOUS'],
  verify: ['JWT_PUBLIC_KEY', 'JWT_VERIFY_KEYS', 'JWT_SECRET'],
  publish: ['JWT_PUBLIC_KEY', 'JWT_VERIFY_KEYS'],
  // An SMTP URL may carry the relay's credentials.
  mail: ['SMTP_URL'],
  // The relying party is not secret.
  webauthn: [],
} as const;
const ALL_SECRETS = new Set(Object.values(SECRETS_BY_NEED).flat());
type Need = keyof typeof SECRETS_BY_NEED;

/** The needs a handler module declares: `needs: { store: true, ... }` or `initDeps({ ... })`. */
function declaredNeeds(handler: string): Need[] {
  const source = readFileSync(path.join(ROOT, `${handler.replace(/\.handler$/, '')}.ts`), 'utf8');
  const match = /(?:needs: |initDeps\()\{([^}]*)\}/.exec(source);
  if (!match) return [];
  return [...match[1]!.matchAll(/(\w+): true/g)].map((m) => m[1] as Need);
}

describe('serverless.yml environments (least privilege)', () => {
  const functions = Object.entries(template.functions);

  it('covers every function', () => {
    expect(functions.map(([name]) => name).sort()).toEqual(
      ['account', 'admin', 'authorizer', 'email', 'example-protected', 'jwks', 'login', 'logout', 'logout-all', 'me', 'metadata', 'mfa', 'passkeys', 'password', 'refresh', 'register', 'security-events', 'sessions'].sort(),
    );
  });

  it('the WebAuthn settings go to the functions that run ceremonies, and only to them', () => {
    for (const [name, fn] of functions) {
      const has = Object.hasOwn(fn.environment ?? {}, 'WEBAUTHN_RP_ID');
      expect(has, name).toBe(declaredNeeds(fn.handler).includes('webauthn'));
    }
  });

  it.each(functions)('%s gets exactly the secrets of the needs its handler declares', (_name, fn) => {
    const needs = declaredNeeds(fn.handler);
    const expected = new Set(needs.flatMap((need) => SECRETS_BY_NEED[need]));
    const secrets = Object.keys(fn.environment ?? {}).filter((name) => ALL_SECRETS.has(name as never));
    expect(new Set(secrets)).toEqual(expected);
  });

  it('the declared needs are the intended ones', () => {
    const needsOf = (name: string) => declaredNeeds(template.functions[name]!.handler).sort();
    expect(needsOf('jwks')).toEqual(['publish']);
    expect(needsOf('metadata')).toEqual(['publish']);
    expect(needsOf('authorizer')).toEqual(['store', 'verify']);
    for (const name of ['logout', 'logout-all', 'sessions', 'me', 'account', 'security-events', 'admin']) expect(needsOf(name), name).toEqual(['store']);
    for (const name of ['register', 'email', 'password']) expect(needsOf(name), name).toEqual(['mail', 'store']);
    // Login, refresh and MFA mail security notices (new device, reuse detected, MFA on/off);
    // the passkey and MFA functions run WebAuthn ceremonies (and passkeys mails "passkey added").
    for (const name of ['login', 'refresh']) expect(needsOf(name), name).toEqual(['mail', 'sign', 'store']);
    for (const name of ['mfa', 'passkeys']) expect(needsOf(name), name).toEqual(['mail', 'sign', 'store', 'webauthn']);
    expect(needsOf('example-protected')).toEqual([]);
  });
});

describe('serverless.yml log groups', () => {
  /** The framework's logical id of a function's log group (`logout-all` → `LogoutDashallLogGroup`). */
  const logGroupId = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1).replaceAll('-', 'Dash')}LogGroup`;

  it('are kept 30 days, and survive the deletion of the stack (the security events are an audit trail)', () => {
    expect(template.provider.logRetentionInDays).toBe(30);
    for (const name of Object.keys(template.functions)) {
      expect(template.resources?.extensions?.[logGroupId(name)], name).toEqual({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });
});

describe('the admin Lambda (serverless.yml, admin-invokers.config.js)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { permissions } = require(path.join(ROOT, 'admin-invokers.config.js')) as { permissions: () => Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const withArns = (value: string | undefined) => {
    const saved = process.env.ADMIN_INVOKER_ARNS;
    if (value === undefined) delete process.env.ADMIN_INVOKER_ARNS;
    else process.env.ADMIN_INVOKER_ARNS = value;
    try {
      return permissions();
    } finally {
      if (saved === undefined) delete process.env.ADMIN_INVOKER_ARNS;
      else process.env.ADMIN_INVOKER_ARNS = saved;
    }
  };

  it('has no HTTP route and its Redis slice only', () => {
    const admin = (template.functions as Record<string, { events?: unknown[] }>).admin!;
    expect(admin.events ?? []).toEqual([]);
  });

  it('grants lambda:InvokeFunction to exactly the ADMIN_INVOKER_ARNS principals, and to nobody when unset', () => {
    expect(withArns(undefined)).toEqual({});
    const granted = withArns(' arn:aws:iam::123456789012:role/support-tools , 210987654321 ');
    expect(Object.values(granted)).toEqual([
      { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': ['AdminLambdaFunction', 'Arn'] }, Principal: 'arn:aws:iam::123456789012:role/support-tools' } },
      { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': ['AdminLambdaFunction', 'Arn'] }, Principal: '210987654321' } },
    ]);
  });

  it.each(['*', 'arn:aws:iam::*:role/x', 'lambda.amazonaws.com'])('refuses %s (a wildcard or a service would open it to too many)', (value) => {
    expect(() => withArns(value)).toThrow(/ADMIN_INVOKER_ARNS/);
  });
});
