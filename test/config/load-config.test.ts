import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CompiledConfig } from '../../src/config/compile-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { ASYMMETRIC_ALGORITHMS } from '../../src/config/schema.js';
import type { JwtProvider } from '../../src/identity/jwt-provider.js';
import type { Rule } from '../../src/policy/rule.js';

const EXAMPLE_FILE = fileURLToPath(new URL('../../examples/tollgate.yaml', import.meta.url));
const CONFIG_FILE = '/etc/tollgate/tollgate.yaml';

/** A provider that passes every check; cases override one field at a time. */
const PROVIDER = {
  name: 'idp',
  issuer: 'https://idp.example.com',
  audiences: ['orders-api'],
  jwks: { uri: 'https://idp.example.com/jwks.json' },
};

type Fields = Record<string, unknown>;

function withProvider(fields: Fields, rest: Fields = {}): Fields {
  return { providers: [{ ...PROVIDER, ...fields }], ...rest };
}

function withRules(...rules: Fields[]): Fields {
  return { providers: [PROVIDER], rules };
}

/** The ConfigError that `load` throws; fails the test on success or on any other error. */
function refusalOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  return expect.unreachable('the configuration was accepted');
}

/** Expects one problem about `path` (the text before ": ") that says `reason`. */
function expectProblem(error: ConfigError, path: string, reason: string): void {
  const problem = error.problems.find((candidate) => candidate.startsWith(`${path}: `));
  expect(problem, `no problem about ${path} in:\n${error.problems.join('\n')}`).toBeDefined();
  expect(problem).toContain(reason);
}

function providerNamed(config: CompiledConfig, name: string): JwtProvider {
  const provider = config.policy.providers.get(name);
  if (provider === undefined) throw new Error(`no provider named ${name}`);
  return provider;
}

/** The parts of a compiled rule that the configuration spells out, as plain data. */
function describeRule(rule: Rule) {
  return {
    name: rule.name,
    action: rule.action,
    hosts: rule.hosts?.map((host) => host.source),
    paths: rule.paths?.map((path) => path.source),
    methods: rule.methods === undefined ? undefined : [...rule.methods],
    require: rule.require,
  };
}

const tempDirs: string[] = [];

function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig with the example file', () => {
  const config = loadConfig(EXAMPLE_FILE);

  it('loads the listen address, default action and file name as written', () => {
    expect(config.file).toBe(EXAMPLE_FILE);
    expect(config.listen).toBe('127.0.0.1:9191');
    expect(config.policy.defaultAction).toBe('deny');
  });

  it('loads the demo provider with its algorithms, credentials and claim headers', () => {
    const demo = providerNamed(config, 'demo');

    expect([...config.policy.providers.keys()]).toEqual(['demo']);
    expect(demo).toMatchObject({
      issuer: 'https://demo-idp.tollgate.invalid',
      audiences: ['orders-api'],
      algorithms: ['ES256', 'RS256'],
      clockSkewSeconds: 30,
      maxTokenAgeSeconds: undefined,
      credentials: [
        { kind: 'header', header: 'authorization', scheme: 'Bearer' },
        { kind: 'cookie', cookie: 'access_token' },
      ],
      claimHeaders: [
        { claim: 'sub', header: 'x-auth-subject' },
        { claim: 'client_id', header: 'x-auth-client-id' },
      ],
    });
    expect(config.policy.claimHeaderNames).toEqual(['x-auth-subject', 'x-auth-client-id']);
  });

  it('resolves the relative jwks.file against the folder of the example file', () => {
    const expectedPath = join(dirname(EXAMPLE_FILE), 'demo-keys', 'demo-jwks.json');

    expect(providerNamed(config, 'demo').keys.source).toEqual({
      kind: 'file',
      path: expectedPath,
    });
    expect(existsSync(expectedPath)).toBe(true);
  });

  it('loads the rules in order with their matches, actions and requirements', () => {
    expect(config.policy.rules.map(describeRule)).toEqual([
      {
        name: 'health',
        action: 'allow',
        hosts: undefined,
        paths: ['/healthz'],
        methods: ['GET'],
        require: undefined,
      },
      {
        name: 'read-orders',
        action: 'allow',
        hosts: ['orders.example.com'],
        paths: ['/orders', '/orders/*'],
        methods: ['GET', 'HEAD'],
        require: { providers: ['demo'], scopes: ['orders:read'] },
      },
      {
        name: 'write-orders',
        action: 'allow',
        hosts: ['orders.example.com'],
        paths: ['/orders', '/orders/*'],
        methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
        require: { providers: ['demo'], scopes: ['orders:write'] },
      },
      {
        name: 'no-admin',
        action: 'deny',
        hosts: undefined,
        paths: ['/admin/**'],
        methods: undefined,
        require: undefined,
      },
    ]);
  });
});

describe('parseConfig with the configuration shape of the product spec', () => {
  const SPEC_CONFIG = `
listen:
  grpc: 0.0.0.0:9191
providers:
  - name: corp
    issuer: https://login.example.com
    audiences: [orders-api]
    jwks: { uri: https://login.example.com/.well-known/jwks.json }
    credentials:
      - { header: authorization, scheme: Bearer }
      - { cookie: session }
    claimHeaders:
      - { claim: sub, header: x-user-id }
  - name: partners
    issuer: https://partners.example.org
    audiences: [orders-api, partner-api]
    jwks: { discovery: true }
rules:
  - name: health
    match: { paths: [/healthz], methods: [GET] }
    action: allow
  - name: read-orders
    match: { hosts: [orders.example.com], paths: [/orders/**], methods: [GET] }
    action: allow
    require: { providers: [corp, partners], scopes: [orders:read] }
  - name: no-admin
    match: { paths: [/admin/**] }
    action: deny
defaultAction: deny
`;
  const config = parseConfig(SPEC_CONFIG, CONFIG_FILE);

  it('loads a provider whose keys come from a JWKS uri, with header and cookie credentials', () => {
    const corp = providerNamed(config, 'corp');

    expect(corp.keys.source).toEqual({
      kind: 'uri',
      uri: 'https://login.example.com/.well-known/jwks.json',
    });
    expect(corp.credentials).toEqual([
      { kind: 'header', header: 'authorization', scheme: 'Bearer' },
      { kind: 'cookie', cookie: 'session' },
    ]);
    expect(corp.claimHeaders).toEqual([{ claim: 'sub', header: 'x-user-id' }]);
  });

  it('loads a provider whose keys come from discovery on its issuer', () => {
    const partners = providerNamed(config, 'partners');

    expect(partners.keys.source).toEqual({
      kind: 'discovery',
      issuer: 'https://partners.example.org',
    });
    expect(partners.audiences).toEqual(['orders-api', 'partner-api']);
  });

  it('loads the rules, the listen address and the default action', () => {
    expect(config.listen).toBe('0.0.0.0:9191');
    expect(config.policy.defaultAction).toBe('deny');
    expect(config.policy.claimHeaderNames).toEqual(['x-user-id']);
    expect(config.policy.rules.map(describeRule)).toEqual([
      {
        name: 'health',
        action: 'allow',
        hosts: undefined,
        paths: ['/healthz'],
        methods: ['GET'],
        require: undefined,
      },
      {
        name: 'read-orders',
        action: 'allow',
        hosts: ['orders.example.com'],
        paths: ['/orders/**'],
        methods: ['GET'],
        require: { providers: ['corp', 'partners'], scopes: ['orders:read'] },
      },
      {
        name: 'no-admin',
        action: 'deny',
        hosts: undefined,
        paths: ['/admin/**'],
        methods: undefined,
        require: undefined,
      },
    ]);
  });
});

describe('parseConfig defaults', () => {
  it('accepts every asymmetric algorithm and nothing else when algorithms is omitted', () => {
    const config = parseConfig(stringify(withProvider({})), CONFIG_FILE);
    const { algorithms } = providerNamed(config, 'idp');

    expect(algorithms).toEqual([...ASYMMETRIC_ALGORITHMS]);
    expect(algorithms.filter((algorithm) => /^HS|^none$/i.test(algorithm))).toEqual([]);
  });

  it('reads a Bearer token from the authorization header when credentials is omitted', () => {
    const config = parseConfig(stringify(withProvider({})), CONFIG_FILE);

    expect(providerNamed(config, 'idp').credentials).toEqual([
      { kind: 'header', header: 'authorization', scheme: 'Bearer' },
    ]);
  });

  it('applies the documented provider and key set defaults when they are omitted', () => {
    const config = parseConfig(stringify(withProvider({})), CONFIG_FILE);
    const provider = providerNamed(config, 'idp');

    expect(provider.clockSkewSeconds).toBe(30);
    expect(provider.maxTokenAgeSeconds).toBeUndefined();
    expect(provider.claimHeaders).toEqual([]);
    expect(provider.keys.options).toEqual({
      timeoutMs: 2000,
      cooldownMs: 30_000,
      refreshMs: 300_000,
    });
  });

  it('upper-cases methods written in any case', () => {
    const config = parseConfig(
      stringify(withRules({ name: 'mixed', match: { methods: ['get', 'Post'] }, action: 'allow' })),
      CONFIG_FILE,
    );

    expect(config.policy.rules.map((rule) => rule.methods)).toEqual([new Set(['GET', 'POST'])]);
  });

  it('matches any host, path and method when a rule has no match', () => {
    const config = parseConfig(stringify(withRules({ name: 'all', action: 'deny' })), CONFIG_FILE);

    expect(config.policy.rules.map(describeRule)).toEqual([
      {
        name: 'all',
        action: 'deny',
        hosts: undefined,
        paths: undefined,
        methods: undefined,
        require: undefined,
      },
    ]);
  });

  it('accepts any configured provider and no scopes when require is empty', () => {
    const config = parseConfig(
      stringify(withRules({ name: 'signed-in', action: 'allow', require: {} })),
      CONFIG_FILE,
    );

    expect(config.policy.rules.map((rule) => rule.require)).toEqual([
      { providers: [], scopes: [] },
    ]);
  });

  it('keeps an absolute jwks.file as written', () => {
    const config = parseConfig(
      stringify(withProvider({ jwks: { file: '/var/lib/tollgate/jwks.json' } })),
      CONFIG_FILE,
    );

    expect(providerNamed(config, 'idp').keys.source).toEqual({
      kind: 'file',
      path: '/var/lib/tollgate/jwks.json',
    });
  });

  it('resolves a relative jwks.file against the folder named by the file argument', () => {
    const config = parseConfig(
      stringify(withProvider({ jwks: { file: '../keys/jwks.json' } })),
      CONFIG_FILE,
    );

    expect(providerNamed(config, 'idp').keys.source).toEqual({
      kind: 'file',
      path: '/etc/keys/jwks.json',
    });
  });
});

describe('parseConfig with an empty document', () => {
  it.each([
    ['an empty file', ''],
    ['a file holding only a comment', '# nothing configured yet\n'],
    ['a file holding only a document marker', '---\n'],
    ['a file holding null', 'null\n'],
  ])('runs with no providers, no rules and a default deny for %s', (_, text) => {
    const config = parseConfig(text, CONFIG_FILE);

    // Nothing configured means every request falls through to the default, which fails closed.
    expect(config.policy.providers.size).toBe(0);
    expect(config.policy.rules).toEqual([]);
    expect(config.policy.defaultAction).toBe('deny');
    expect(config.policy.claimHeaderNames).toEqual([]);
    expect(config.policy.paths).toEqual({ encodedSlashes: 'reject', semicolons: 'reject' });
    expect(config.policy.realm).toBe('tollgate');
    expect(config.listen).toBe('127.0.0.1:9191');
    expect(config.startupKeyWaitMs).toBe(5000);
    expect(config.cache).toEqual({ maxTokens: 10_000, maxMegabytes: 8, maxTtlSeconds: 300 });
    expect(config.logLevel).toBe('info');
  });
});

describe('parseConfig refusals', () => {
  it.each<[string, Fields, string, string]>([
    ['an unknown top-level key', { listn: { grpc: '127.0.0.1:9191' } }, 'listn', 'unknown option'],
    [
      'an unknown key in a rule match',
      withRules({ name: 'typo', match: { pathz: ['/a'] }, action: 'deny' }),
      'rules[0].match.pathz',
      'unknown option',
    ],
    [
      'an unknown key in a provider jwks',
      withProvider({ jwks: { uri: 'https://idp.example.com/jwks.json', urll: 'x' } }),
      'providers[0].jwks.urll',
      'unknown option',
    ],
    [
      'a scheme on a cookie credential',
      withProvider({ credentials: [{ cookie: 'session', scheme: 'Bearer' }] }),
      'providers[0].credentials[0].scheme',
      'unknown option',
    ],
  ])('refuses %s, naming the key by its own path', (_, config, path, reason) => {
    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expectProblem(error, path, reason);
  });

  it('names each of several unknown keys in its own problem', () => {
    const error = refusalOf(() => parseConfig('listn: 1\nrulez: []\n', CONFIG_FILE));

    expect(error.problems).toEqual(['listn: unknown option', 'rulez: unknown option']);
  });

  it.each<[string, Fields, string, string]>([
    ['rules as a string', { rules: 'all' }, 'rules', 'expected array, received string'],
    ['a rule as null', { rules: [null] }, 'rules[0]', 'expected object, received null'],
    [
      'an unknown defaultAction',
      { defaultAction: 'maybe' },
      'defaultAction',
      'expected one of "allow"|"deny"',
    ],
    [
      'a rule without an action',
      withRules({ name: 'no-action' }),
      'rules[0].action',
      'expected one of "allow"|"deny"',
    ],
    [
      'clockSkewSeconds as a string',
      withProvider({ clockSkewSeconds: '30' }),
      'providers[0].clockSkewSeconds',
      'expected number, received string',
    ],
    [
      'audiences as a single string',
      withProvider({ audiences: 'orders-api' }),
      'providers[0].audiences',
      'expected array, received string',
    ],
    [
      'a fractional jwks.timeoutMs',
      withProvider({ jwks: { uri: 'https://idp.example.com/jwks.json', timeoutMs: 1.5 } }),
      'providers[0].jwks.timeoutMs',
      'expected int',
    ],
    [
      'a method with a space',
      withRules({ name: 'odd', match: { methods: ['GET /'] }, action: 'deny' }),
      'rules[0].match.methods[0]',
      'must be an HTTP method',
    ],
    [
      'a rule name with a space',
      withRules({ name: 'read orders', action: 'deny' }),
      'rules[0].name',
      'must be 1-63 letters, digits',
    ],
    [
      'an upper-case claim header name',
      withProvider({ claimHeaders: [{ claim: 'sub', header: 'X-User' }] }),
      'providers[0].claimHeaders[0].header',
      'must be a lower-case HTTP header name',
    ],
    [
      'a credential that is neither a header nor a cookie',
      withProvider({ credentials: [{ headr: 'authorization' }] }),
      'providers[0].credentials[0]',
      'must be { header, scheme } (scheme optional) or { cookie }',
    ],
    [
      'a credential written as a bare string',
      withProvider({ credentials: ['authorization'] }),
      'providers[0].credentials[0]',
      'must be { header, scheme } (scheme optional) or { cookie }',
    ],
  ])('refuses %s, naming the field and the expected form', (_, config, path, reason) => {
    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expectProblem(error, path, reason);
  });

  it.each([
    ['a list', '- rules\n', 'expected object, received array'],
    ['a string', 'tollgate\n', 'expected object, received string'],
  ])('refuses a document that is %s', (_, text, reason) => {
    const error = refusalOf(() => parseConfig(text, CONFIG_FILE));

    expectProblem(error, '(top level)', reason);
  });

  it.each<[string, unknown[], string, string]>([
    [
      'HS256',
      ['HS256'],
      'providers[0].algorithms[0]',
      '"HS256" is a symmetric or unsigned algorithm',
    ],
    ['none', ['none'], 'providers[0].algorithms[0]', '"none" is a symmetric or unsigned algorithm'],
    [
      'HS512 after an accepted one',
      ['RS256', 'HS512'],
      'providers[0].algorithms[1]',
      '"HS512" is a symmetric or unsigned algorithm',
    ],
    ['an unknown name', ['RS999'], 'providers[0].algorithms[0]', '"RS999" is not one of RS256'],
    ['no algorithm at all', [], 'providers[0].algorithms', 'expected array to have >=1 items'],
  ])('refuses an algorithms list holding %s', (_, algorithms, path, reason) => {
    const error = refusalOf(() =>
      parseConfig(stringify(withProvider({ algorithms })), CONFIG_FILE),
    );

    expectProblem(error, path, reason);
  });

  it.each<[string, Fields]>([
    ['no source', {}],
    ['only discovery: false', { discovery: false }],
    ['uri and discovery', { uri: 'https://idp.example.com/jwks.json', discovery: true }],
    ['uri and file', { uri: 'https://idp.example.com/jwks.json', file: 'jwks.json' }],
    ['discovery and file', { discovery: true, file: 'jwks.json' }],
    [
      'all three sources',
      { uri: 'https://idp.example.com/jwks.json', discovery: true, file: 'jwks.json' },
    ],
  ])('refuses a jwks with %s', (_, jwks) => {
    const error = refusalOf(() => parseConfig(stringify(withProvider({ jwks })), CONFIG_FILE));

    expectProblem(error, 'providers[0].jwks', 'set exactly one of uri, discovery: true, or file');
  });

  it.each<[string, Fields, string, string]>([
    [
      'a jwks uri that is not http(s)',
      withProvider({ jwks: { uri: 'ftp://idp.example.com/jwks.json' } }),
      'providers[0].jwks.uri',
      'must be an http(s) URL',
    ],
    [
      'discovery on an issuer that is not a URL',
      withProvider({ issuer: 'corp-idp', jwks: { discovery: true } }),
      'providers[0].issuer',
      'discovery needs an http(s) issuer URL',
    ],
  ])('refuses %s', (_, config, path, reason) => {
    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expectProblem(error, path, reason);
  });

  it.each([
    ['/orders/**x', '"/orders/**x" is not a valid pattern: "**" must be a whole segment'],
    ['orders', '"orders" is not a valid pattern: a path pattern must start with "/"'],
    ['/a/../b', '"/a/../b" is not a valid pattern: "." and ".." segments are not allowed'],
    ['/a/%2e%2e/b', '"/a/%2e%2e/b" is not a valid pattern: "." and ".." segments'],
    ['/orders?id=1', 'a path pattern cannot contain "?" or "#"'],
    ['/a b', '"/a b" is not a valid pattern: space in path'],
  ])('refuses the path pattern %s at rules[1].match.paths[1]', (pattern, reason) => {
    const config = withRules(
      { name: 'fine', match: { paths: ['/healthz'] }, action: 'allow' },
      { name: 'broken', match: { paths: ['/ok', pattern] }, action: 'deny' },
    );

    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expectProblem(error, 'rules[1].match.paths[1]', reason);
  });

  it.each([
    ['orders.example.com:8443', 'a host pattern cannot have a port'],
    ['a.*.example.com', '"*" is allowed only as the whole first label'],
    ['https://orders.example.com', 'a host pattern cannot have a scheme'],
    ['orders..example.com', 'empty label in host pattern'],
    ['::1', 'an IPv6 address is written in brackets'],
  ])('refuses the host pattern %s at rules[0].match.hosts[0]', (pattern, reason) => {
    const config = withRules({ name: 'broken', match: { hosts: [pattern] }, action: 'deny' });

    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expectProblem(
      error,
      'rules[0].match.hosts[0]',
      `"${pattern}" is not a valid pattern: ${reason}`,
    );
  });

  it.each<[string, Fields, string, string]>([
    [
      'require.providers naming an unknown provider',
      withRules({ name: 'r', action: 'allow', require: { providers: ['idp', 'nobody'] } }),
      'rules[0].require.providers[1]',
      'no provider is named "nobody"',
    ],
    [
      'require when no provider is configured',
      { rules: [{ name: 'r', action: 'allow', require: { scopes: ['orders:read'] } }] },
      'rules[0].require',
      'no providers are configured to authenticate with',
    ],
    [
      'require on a deny rule',
      withRules({ name: 'r', action: 'deny', require: { scopes: ['admin'] } }),
      'rules[0].require',
      '`require` has no meaning on a deny rule',
    ],
    [
      'an empty require.providers list',
      withRules({ name: 'r', action: 'allow', require: { providers: [] } }),
      'rules[0].require.providers',
      'expected array to have >=1 items',
    ],
    [
      'duplicate rule names',
      withRules(
        { name: 'same', action: 'deny' },
        { name: 'other', action: 'deny' },
        { name: 'same', action: 'allow' },
      ),
      'rules[2].name',
      '"same" is used twice',
    ],
    [
      'duplicate provider names',
      { providers: [PROVIDER, { ...PROVIDER, issuer: 'https://other.example.com' }] },
      'providers[1].name',
      '"idp" is used twice',
    ],
    [
      'duplicate provider issuers',
      { providers: [PROVIDER, { ...PROVIDER, name: 'idp-again' }] },
      'providers[1].issuer',
      '"https://idp.example.com" is used twice',
    ],
  ])('refuses %s', (_, config, path, reason) => {
    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expectProblem(error, path, reason);
  });

  it.each([
    ['localhost', 'must be host:port, [ipv6]:port or unix:/path/to.sock'],
    ['http://127.0.0.1:9191', 'must be host:port, [ipv6]:port or unix:/path/to.sock'],
    ['::1:9191', 'must be host:port, [ipv6]:port or unix:/path/to.sock'],
    ['127.0.0.1:', 'must be host:port, [ipv6]:port or unix:/path/to.sock'],
    ['127.0.0.1:65536', 'port must be 0-65535'],
    ['[::1]:99999', 'port must be 0-65535'],
  ])('refuses the listen address %s', (address, reason) => {
    const error = refusalOf(() =>
      parseConfig(stringify({ listen: { grpc: address } }), CONFIG_FILE),
    );

    expectProblem(error, 'listen.grpc', reason);
    expect(error.problems).toHaveLength(1);
  });

  it.each([
    '0.0.0.0:0',
    '127.0.0.1:65535',
    '[::1]:9191',
    'tollgate.local:9191',
    'unix:/run/t.sock',
  ])('accepts the listen address %s', (address) => {
    expect(parseConfig(stringify({ listen: { grpc: address } }), CONFIG_FILE).listen).toBe(address);
  });

  it.each(['host', 'content-length', 'transfer-encoding', 'connection', 'te', 'upgrade'])(
    'refuses to copy a claim into the %s header',
    (header) => {
      const config = withProvider({ claimHeaders: [{ claim: 'sub', header }] });

      const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

      expectProblem(
        error,
        'providers[0].claimHeaders[0].header',
        `"${header}" cannot carry a claim`,
      );
    },
  );

  it('reports every problem of a file at once, not only the first', () => {
    const config = withRules(
      { name: 'a', match: { paths: ['/orders/**x'] }, action: 'deny' },
      { name: 'a', action: 'allow', require: { providers: ['nobody'] } },
    );

    const error = refusalOf(() => parseConfig(stringify(config), CONFIG_FILE));

    expect(error.problems).toEqual([
      'rules[0].match.paths[0]: "/orders/**x" is not a valid pattern: "**" must be a whole segment',
      'rules[1].require.providers[0]: no provider is named "nobody"',
      'rules[1].name: "a" is used twice',
    ]);
  });

  it('names the file in the error and in its message', () => {
    const error = refusalOf(() => parseConfig('listn: 1\n', CONFIG_FILE));

    expect(error.file).toBe(CONFIG_FILE);
    expect(error.message).toBe(`${CONFIG_FILE}: invalid configuration\n  listn: unknown option`);
  });
});

describe('parseConfig with broken YAML', () => {
  it.each([
    ['an unclosed flow sequence', 'rules: [\n', 'YAML: Flow sequence', 'at line 2, column 1'],
    ['a tab used as indentation', 'rules:\n\t- name: a\n', 'YAML: Tabs are not allowed', 'line 2'],
    [
      'a duplicate top-level key',
      'defaultAction: deny\ndefaultAction: allow\n',
      'YAML: Map keys must be unique',
      'at line 2, column 1',
    ],
    [
      'a duplicate key inside a rule',
      'rules:\n  - name: a\n    action: deny\n    action: allow\n',
      'YAML: Map keys must be unique',
      'at line 4, column 5',
    ],
    [
      'two documents in one file',
      'defaultAction: deny\n---\ndefaultAction: allow\n',
      'YAML: Source contains multiple documents',
      'line 2',
    ],
  ])('refuses %s with the YAML error and its position', (_, text, reason, position) => {
    const error = refusalOf(() => parseConfig(text, CONFIG_FILE));

    expect(error.file).toBe(CONFIG_FILE);
    expect(error.problems[0]).toContain(reason);
    expect(error.problems[0]).toContain(position);
    // Regression: the excerpt prettyErrors adds after "column N:" was cut, leaving a dangling ":".
    expect(error.problems[0]).not.toMatch(/:$/);
  });

  // Regression: these surfaced from document.toJS() as a bare ReferenceError, not a ConfigError.
  it.each([
    ['an alias whose anchor is never set', 'defaultAction: *nowhere\n', 'Unresolved alias'],
    [
      'aliases that expand exponentially',
      [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
        'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
        '',
      ].join('\n'),
      'Excessive alias count',
    ],
  ])('refuses %s with a ConfigError', (_, text, reason) => {
    const error = refusalOf(() => parseConfig(text, CONFIG_FILE));

    expect(error.problems).toEqual([expect.stringContaining(`YAML: ${reason}`)]);
  });
});

describe('loadConfig from the file system', () => {
  it('resolves a relative jwks.file against the config file folder, not the working directory', () => {
    const dir = makeTempDir();
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(file, stringify(withProvider({ jwks: { file: 'keys/jwks.json' } })));

    const config = loadConfig(file);

    expect(providerNamed(config, 'idp').keys.source).toEqual({
      kind: 'file',
      path: join(dir, 'keys', 'jwks.json'),
    });
  });

  it('loads an empty file as no providers, no rules and a default deny', () => {
    const file = join(makeTempDir(), 'empty.yaml');
    writeFileSync(file, '');

    const config = loadConfig(file);

    expect(config.policy.providers.size).toBe(0);
    expect(config.policy.rules).toEqual([]);
    expect(config.policy.defaultAction).toBe('deny');
  });

  it('names the file it read in a refusal', () => {
    const file = join(makeTempDir(), 'tollgate.yaml');
    writeFileSync(file, 'rules: [{ name: r, action: deny, match: { pathz: [/a] } }]\n');

    const error = refusalOf(() => loadConfig(file));

    expect(error.file).toBe(file);
    expectProblem(error, 'rules[0].match.pathz', 'unknown option');
  });

  it.each<[string, (dir: string) => string, string]>([
    ['a file that does not exist', (dir) => join(dir, 'missing.yaml'), 'ENOENT'],
    [
      'a folder in place of a file',
      (dir) => {
        const folder = join(dir, 'tollgate.yaml');
        mkdirSync(folder);
        return folder;
      },
      'EISDIR',
    ],
  ])('refuses %s, naming the file and the error code', (_, makePath, code) => {
    const file = makePath(makeTempDir());

    const error = refusalOf(() => loadConfig(file));

    expect(error.file).toBe(file);
    expect(error.problems).toEqual([`cannot read the file (${code})`]);
    expect(error.message).toContain(file);
  });
});
