import { z } from 'zod';

/**
 * The shape of tollgate's YAML configuration. Every object is strict: an unknown key is a
 * mistake (usually a typo) and is refused at start-up rather than silently ignored.
 * Semantic checks that need more than one field (patterns, references between sections) live in
 * `compile-config.ts`.
 */

/** Asymmetric JWS algorithms. Symmetric (HS*) and `none` are never accepted: keys are public. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"');

const headerName = z
  .string()
  .regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a lower-case HTTP header name');

const algorithm = z.string().superRefine((value, context) => {
  if ((ASYMMETRIC_ALGORITHMS as readonly string[]).includes(value)) return;
  context.addIssue({
    code: 'custom',
    message: /^HS|^none$/i.test(value)
      ? `"${value}" is a symmetric or unsigned algorithm; ` +
        'tollgate verifies with published public keys only'
      : `"${value}" is not one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`,
  });
});

const jwksSource = z
  .strictObject({
    uri: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      // A password in the URI would be repeated in every message that names it, and fetch()
      // refuses such URLs anyway (https://fetch.spec.whatwg.org/#dom-request).
      .refine((uri) => !hasUserinfo(uri), {
        error:
          'must not carry a user name or password; ' +
          'tollgate sends no credentials to the JWKS endpoint',
      })
      .optional(),
    discovery: z.boolean().optional(),
    file: z.string().min(1).optional(),
    /** Timeout of one JWKS or discovery fetch, in milliseconds. Default 2000. */
    timeoutMs: z.number().int().min(50).max(60_000).default(2000),
    /** Minimum time between two refetches caused by an unknown `kid`, in seconds. Default 30. */
    cooldownSeconds: z.number().min(0).max(3600).default(30),
    /** Background refresh period of a remote key set, in seconds. Default 300. */
    refreshSeconds: z.number().min(5).max(86_400).default(300),
  })
  .refine(
    (source) =>
      [source.uri !== undefined, source.discovery === true, source.file !== undefined].filter(
        Boolean,
      ).length === 1,
    { message: 'set exactly one of uri, discovery: true, or file' },
  );

function hasUserinfo(uri: string): boolean {
  try {
    const { username, password } = new URL(uri);
    return username !== '' || password !== '';
  } catch {
    return false; // Not a URL: the url check above reports it.
  }
}

const credentialSource = z.union(
  [
    z.strictObject({
      header: headerName,
      /**
       * Authentication scheme before the token, e.g. Bearer. Omit when the header holds the
       * token alone.
       */
      scheme: z
        .string()
        .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP auth scheme')
        .optional(),
    }),
    z.strictObject({
      cookie: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a cookie name'),
    }),
  ],
  { error: 'must be { header, scheme } (scheme optional) or { cookie }' },
);

const claimHeader = z.strictObject({
  claim: z.string().min(1),
  header: headerName,
});

const provider = z.strictObject({
  name,
  issuer: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1),
  jwks: jwksSource,
  algorithms: z.array(algorithm).min(1).optional(),
  clockSkewSeconds: z.number().min(0).max(300).default(30),
  /** Longest accepted token lifetime (exp - iat) in seconds; unset means no limit. */
  maxTokenAgeSeconds: z.number().int().positive().optional(),
  credentials: z
    .array(credentialSource)
    .min(1)
    .default([{ header: 'authorization', scheme: 'Bearer' }]),
  claimHeaders: z.array(claimHeader).default([]),
});

const method = z
  .string()
  .regex(/^[A-Za-z]+$/, 'must be an HTTP method')
  .transform((value) => value.toUpperCase());

const rule = z
  .strictObject({
    name,
    match: z
      .strictObject({
        hosts: z.array(z.string().min(1)).min(1).optional(),
        paths: z.array(z.string().min(1)).min(1).optional(),
        methods: z.array(method).min(1).optional(),
      })
      .default({}),
    action: z.enum(['allow', 'deny']),
    require: z
      .strictObject({
        /** Providers whose tokens this rule accepts; omit for any configured provider. */
        providers: z.array(name).min(1).optional(),
        /** Scopes the token must all carry. */
        scopes: z
          .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token'))
          .optional(),
      })
      .optional(),
  })
  .refine((value) => !(value.action === 'deny' && value.require !== undefined), {
    message: '`require` has no meaning on a deny rule',
    path: ['require'],
  });

const listenAddress = z
  .string()
  .regex(
    /^(unix:.+|(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/,
    'must be host:port, [ipv6]:port or unix:/path/to.sock',
  )
  .refine((value) => {
    const port = /^(?!unix:).*:(\d+)$/.exec(value)?.[1];
    return port === undefined || Number(port) <= 65_535;
  }, 'port must be 0-65535');

export const configSchema = z.strictObject({
  listen: z.strictObject({ grpc: listenAddress }).default({ grpc: '127.0.0.1:9191' }),
  providers: z.array(provider).default([]),
  rules: z.array(rule).default([]),
  defaultAction: z.enum(['allow', 'deny']).default('deny'),
  paths: z
    .strictObject({
      /** What to do with %2F and %5C in a path: refuse with 400 (default) or keep them encoded. */
      encodedSlashes: z.enum(['reject', 'keep']).default('reject'),
      /**
       * What to do with `;` (or %3B) in a path: refuse with 400 (default) or keep it as part of
       * the segment. Servlet containers read `/static/..;/admin` as `/admin`, so a path
       * parameter can walk past a rule unless it is refused.
       */
      semicolons: z.enum(['reject', 'keep']).default('reject'),
    })
    .default({ encodedSlashes: 'reject', semicolons: 'reject' }),
  startup: z
    .strictObject({
      /** How long to wait for every provider's keys before reporting SERVING anyway, in ms. */
      keyWaitMs: z.number().int().min(0).max(120_000).default(5000),
    })
    .default({ keyWaitMs: 5000 }),
  shutdown: z
    .strictObject({
      /**
       * After SIGTERM, how long to keep answering Checks while reporting NOT_SERVING, in ms, so
       * Envoy stops sending before the port closes. Default 5000.
       */
      drainMs: z.number().int().min(0).max(300_000).default(5000),
      /** Longest wait for in-flight Checks once draining ends, in ms. Default 10000. */
      graceMs: z.number().int().min(0).max(300_000).default(10_000),
    })
    .default({ drainMs: 5000, graceMs: 10_000 }),
  cache: z
    .strictObject({
      /** Verified tokens kept in memory. Default 10000. */
      maxTokens: z.number().int().min(0).max(1_000_000).default(10_000),
      /**
       * Memory the verified tokens may take, in MiB, estimated from their size (large tokens
       * with many claims count for more; a typical 700-character token about 3 KB). Default 8:
       * some 2,700 such tokens (Envoy's jwt_authn caches 100 by default), in a sidecar meant to
       * stay within tens of megabytes. Raise the V8 heap with it (docs/performance.md).
       */
      maxMegabytes: z.number().min(1).max(4096).default(8),
      /**
       * Longest time a verified token is reused before its signature is checked again, in
       * seconds, whatever its exp; bounds how long a key withdrawn from the JWKS still verifies.
       * Default 300.
       */
      maxTtlSeconds: z.number().int().min(1).max(86_400).default(300),
    })
    .default({ maxTokens: 10_000, maxMegabytes: 8, maxTtlSeconds: 300 }),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .default({ level: 'info' }),
  /** Realm named in `www-authenticate` challenges. Default "tollgate". */
  realm: z
    .string()
    .regex(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/, 'must be printable without quotes')
    .default('tollgate'),
});

/** Configuration as written, after defaults. */
export type RawConfig = z.output<typeof configSchema>;
export type ProviderConfig = RawConfig['providers'][number];
export type RuleConfig = RawConfig['rules'][number];
export type CredentialSourceConfig = ProviderConfig['credentials'][number];
