import { isAbsolute, resolve } from 'node:path';
import type { CredentialSource } from '../identity/credential-source.js';
import type { JwtProvider } from '../identity/jwt-provider.js';
import { KeySet, type KeySource } from '../identity/key-set.js';
import type { Policy } from '../pipeline/policy.js';
import { compileHostPattern } from '../policy/host-pattern.js';
import { compilePathPattern } from '../policy/path-pattern.js';
import { PatternError } from '../policy/pattern-error.js';
import type { Rule } from '../policy/rule.js';
import { ConfigError } from './config-error.js';
import {
  ASYMMETRIC_ALGORITHMS,
  type ProviderConfig,
  type RawConfig,
  type RuleConfig,
} from './schema.js';

/** Configuration ready to run: patterns compiled, references resolved, key sets created. */
export interface CompiledConfig {
  readonly file: string;
  /** `host:port` or `unix:/path`. */
  readonly listen: string;
  readonly policy: Policy;
  readonly startupKeyWaitMs: number;
  readonly cache: RawConfig['cache'];
  readonly shutdown: RawConfig['shutdown'];
  readonly logLevel: RawConfig['log']['level'];
}

/** Headers a claim may never be copied into: they steer routing or framing, not identity. */
const FORBIDDEN_CLAIM_HEADERS = new Set([
  'cookie',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'te',
  'upgrade',
]);

interface Context {
  readonly file: string;
  readonly baseDir: string;
}

export function compileConfig(raw: RawConfig, context: Context): CompiledConfig {
  const problems: string[] = [];
  const providers = compileProviders(raw.providers, context, problems);
  const rules = raw.rules.map((rule, index) =>
    compileRule(rule, `rules[${index}]`, providers, problems),
  );
  checkUnique(
    raw.rules.map((rule) => rule.name),
    'rules',
    'name',
    problems,
  );
  if (problems.length > 0) throw new ConfigError(context.file, problems);

  const claimHeaderNames = [
    ...new Set(raw.providers.flatMap((p) => p.claimHeaders.map((c) => c.header))),
  ];
  return {
    file: context.file,
    listen: raw.listen.grpc,
    policy: {
      rules,
      defaultAction: raw.defaultAction,
      providers,
      paths: raw.paths,
      realm: raw.realm,
      claimHeaderNames,
    },
    startupKeyWaitMs: raw.startup.keyWaitMs,
    cache: raw.cache,
    shutdown: raw.shutdown,
    logLevel: raw.log.level,
  };
}

function compileProviders(
  configs: readonly ProviderConfig[],
  context: Context,
  problems: string[],
): Map<string, JwtProvider> {
  checkUnique(
    configs.map((p) => p.name),
    'providers',
    'name',
    problems,
  );
  checkUnique(
    configs.map((p) => p.issuer),
    'providers',
    'issuer',
    problems,
  );

  const providers = new Map<string, JwtProvider>();
  configs.forEach((config, index) => {
    const at = `providers[${index}]`;
    config.claimHeaders.forEach(({ header }, headerIndex) => {
      if (FORBIDDEN_CLAIM_HEADERS.has(header) || header.startsWith('x-envoy-')) {
        problems.push(
          `${at}.claimHeaders[${headerIndex}].header: "${header}" cannot carry a claim`,
        );
      }
    });
    if (config.jwks.discovery === true && !/^https?:\/\/[^/]/.test(config.issuer)) {
      problems.push(`${at}.issuer: discovery needs an http(s) issuer URL`);
    }

    providers.set(config.name, {
      name: config.name,
      issuer: config.issuer,
      audiences: config.audiences,
      algorithms: config.algorithms ?? [...ASYMMETRIC_ALGORITHMS],
      clockSkewSeconds: config.clockSkewSeconds,
      maxTokenAgeSeconds: config.maxTokenAgeSeconds,
      credentials: config.credentials.map(toCredentialSource),
      claimHeaders: config.claimHeaders,
      keys: new KeySet(toKeySource(config, context), {
        timeoutMs: config.jwks.timeoutMs,
        cooldownMs: config.jwks.cooldownSeconds * 1000,
        refreshMs: config.jwks.refreshSeconds * 1000,
      }),
    });
  });
  return providers;
}

function toKeySource(config: ProviderConfig, context: Context): KeySource {
  const { jwks } = config;
  if (jwks.file !== undefined) {
    return {
      kind: 'file',
      path: isAbsolute(jwks.file) ? jwks.file : resolve(context.baseDir, jwks.file),
    };
  }
  if (jwks.uri !== undefined) return { kind: 'uri', uri: jwks.uri };
  return { kind: 'discovery', issuer: config.issuer };
}

function toCredentialSource(config: ProviderConfig['credentials'][number]): CredentialSource {
  if ('cookie' in config) return { kind: 'cookie', cookie: config.cookie };
  return { kind: 'header', header: config.header, scheme: config.scheme };
}

function compileRule(
  config: RuleConfig,
  at: string,
  providers: ReadonlyMap<string, JwtProvider>,
  problems: string[],
): Rule {
  const compile = <T>(values: readonly string[] | undefined, field: string, fn: (v: string) => T) =>
    values?.map((value, index) => {
      try {
        return fn(value);
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        problems.push(
          `${at}.match.${field}[${index}]: "${value}" is not a valid pattern: ${error.message}`,
        );
        return undefined as T;
      }
    });

  let require: Rule['require'];
  if (config.require !== undefined) {
    const names = config.require.providers ?? [];
    names.forEach((name, index) => {
      if (!providers.has(name))
        problems.push(`${at}.require.providers[${index}]: no provider is named "${name}"`);
    });
    if (providers.size === 0)
      problems.push(`${at}.require: no providers are configured to authenticate with`);
    require = { providers: names, scopes: config.require.scopes ?? [] };
  }

  return {
    name: config.name,
    hosts: compile(config.match.hosts, 'hosts', compileHostPattern),
    paths: compile(config.match.paths, 'paths', compilePathPattern),
    methods: config.match.methods === undefined ? undefined : new Set(config.match.methods),
    action: config.action,
    require,
  };
}

function checkUnique(
  values: readonly string[],
  list: string,
  field: string,
  problems: string[],
): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) problems.push(`${list}[${index}].${field}: "${value}" is used twice`);
    seen.add(value);
  });
}
