import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { JwtProvider } from '../../src/identity/jwt-provider.js';
import {
  type KeyLookup,
  KeySet,
  type KeySetOptions,
  type KeySource,
} from '../../src/identity/key-set.js';
import { verifyJwt } from '../../src/identity/verify-jwt.js';

const NOW = 1_750_000_000;
const AUDIENCE = 'https://orders-api.example';
const COOLDOWN_MS = 30_000;
const OPTIONS: KeySetOptions = { timeoutMs: 2000, cooldownMs: COOLDOWN_MS, refreshMs: 300_000 };

/** What the test server answers on one path. */
type Reply =
  | { readonly kind: 'json'; readonly body: unknown }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string }
  | { readonly kind: 'redirect'; readonly location: string }
  /** Accepts the request and never answers. */
  | { readonly kind: 'hang' }
  /** Sends status and headers, then never finishes the body. */
  | { readonly kind: 'stall-body' };

interface KeyServer {
  readonly origin: string;
  readonly jwksUri: string;
  /** Requests received on `path` so far, counted on arrival. */
  requests(path: string): number;
  reply(path: string, reply: Reply): void;
  /** Holds every answer until the returned function is called. */
  hold(): () => void;
  close(): Promise<void>;
}

async function startKeyServer(): Promise<KeyServer> {
  const replies = new Map<string, Reply>();
  const counts = new Map<string, number>();
  let gate: Promise<void> = Promise.resolve();

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    await gate;
    answer(res, replies.get(path) ?? { kind: 'raw', status: 404, body: 'not found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    jwksUri: `${origin}/jwks`,
    requests: (path) => counts.get(path) ?? 0,
    reply: (path, reply) => replies.set(path, reply),
    hold() {
      let release = (): void => {};
      gate = new Promise((resolve) => {
        release = resolve;
      });
      return release;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function answer(res: ServerResponse, reply: Reply): void {
  switch (reply.kind) {
    case 'json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      return;
    case 'raw':
      res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body);
      return;
    case 'redirect':
      res.writeHead(302, { location: reply.location }).end();
      return;
    case 'hang':
      return;
    case 'stall-body':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
      return;
  }
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public JWK as published. */
  readonly jwk: JWK;
  /** The private JWK, for key sets that wrongly publish it. */
  readonly privateJwk: JWK;
}

async function generateSigningKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' },
  };
}

function jwksOf(...keys: SigningKey[]): Reply {
  return { kind: 'json', body: { keys: keys.map((key) => key.jwk) } };
}

function providerFor(keys: KeySet, issuer: string): JwtProvider {
  return {
    name: 'corp',
    issuer,
    audiences: [AUDIENCE],
    algorithms: ['ES256'],
    clockSkewSeconds: 30,
    maxTokenAgeSeconds: undefined,
    credentials: [{ kind: 'header', header: 'authorization', scheme: 'Bearer' }],
    claimHeaders: [],
    keys,
  };
}

function signWith(key: SigningKey, issuer: string): Promise<string> {
  return new SignJWT({ iss: issuer, aud: AUDIENCE, sub: 'user-1', exp: NOW + 300 })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey);
}

/** What the set answers for an ES256 token naming `kid`, after any fetch that starts. */
async function lookUpKid(keys: KeySet, kid: string): Promise<KeyLookup['kind']> {
  return (await keys.lookUp('ES256', kid)).kind;
}

let first: SigningKey;
let second: SigningKey;
let unpublished: SigningKey;
let server: KeyServer;

beforeAll(async () => {
  first = await generateSigningKey('key-1');
  second = await generateSigningKey('key-2');
  unpublished = await generateSigningKey('key-never-published');
});

beforeEach(async () => {
  // The cooldown is measured with performance.now(); freezing it makes "inside the cooldown" exact.
  vi.useFakeTimers({ toFake: ['performance'] });
  server = await startKeyServer();
});

afterEach(async () => {
  vi.useRealTimers();
  await server.close();
});

describe('KeySet from a JWKS URI', () => {
  function uriKeySet(options: Partial<KeySetOptions> = {}): KeySet {
    return new KeySet({ kind: 'uri', uri: server.jwksUri }, { ...OPTIONS, ...options });
  }

  async function verify(keys: KeySet, key: SigningKey) {
    return verifyJwt(
      await signWith(key, 'https://idp.example'),
      providerFor(keys, 'https://idp.example'),
      NOW,
    );
  }

  it('is loading before the first refresh and ready with the published keys after it', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();
    const before = keys.state;

    await keys.refresh();

    expect(before).toBe('loading');
    expect(keys.state).toBe('ready');
    expect(keys.lastError).toBeUndefined();
    expect(server.requests('/jwks')).toBe(1);
    expect((await verify(keys, first)).ok).toBe(true);
    expect(server.requests('/jwks')).toBe(1);
  });

  it('loads on the first lookup when nobody refreshed it', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();

    await expect(lookUpKid(keys, first.kid)).resolves.toBe('found');

    expect(keys.state).toBe('ready');
    expect(server.requests('/jwks')).toBe(1);
  });

  it('fetches once more on an unknown kid after the cooldown and finds a newly published key', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first, second));
    vi.advanceTimersByTime(COOLDOWN_MS);

    const outcome = await verify(keys, second);

    expect(outcome.ok).toBe(true);
    expect(server.requests('/jwks')).toBe(2);
  });

  it('does not fetch for a second unknown kid inside the cooldown', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first, second));
    vi.advanceTimersByTime(COOLDOWN_MS);
    await lookUpKid(keys, second.kid);
    vi.advanceTimersByTime(COOLDOWN_MS - 1);

    await expect(lookUpKid(keys, unpublished.kid)).resolves.toBe('no-match');
    expect((await verify(keys, unpublished)).ok).toBe(false);
    expect(server.requests('/jwks')).toBe(2);
  });

  it('counts the cooldown from the first load, so an unknown kid right after it fetches nothing', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first, second));

    const outcome = await verify(keys, second);

    expect(outcome).toMatchObject({ ok: false, reason: 'token_key_unknown' });
    expect(server.requests('/jwks')).toBe(1);
  });

  it('shares one fetch between unknown kids that arrive while it is under way', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first, second));
    vi.advanceTimersByTime(COOLDOWN_MS);
    const release = server.hold();

    const lookups = [lookUpKid(keys, second.kid), lookUpKid(keys, second.kid)];
    await vi.waitFor(() => expect(server.requests('/jwks')).toBe(2));
    release();

    await expect(Promise.all(lookups)).resolves.toEqual(['found', 'found']);
    expect(server.requests('/jwks')).toBe(2);
  });

  it('keeps the keys it holds and records lastError when a later fetch fails', async () => {
    server.reply('/jwks', jwksOf(first));
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', { kind: 'raw', status: 500, body: 'upstream exploded' });
    vi.advanceTimersByTime(COOLDOWN_MS);

    const unknown = await verify(keys, second);

    expect(unknown).toMatchObject({ ok: false, reason: 'token_key_unknown' });
    expect(server.requests('/jwks')).toBe(2);
    expect(keys.state).toBe('ready');
    expect(keys.lastError).toBe(`${server.jwksUri}: HTTP 500`);
    expect((await verify(keys, first)).ok).toBe(true);
  });

  it('clears lastError once a fetch succeeds again', async () => {
    server.reply('/jwks', { kind: 'raw', status: 503, body: '' });
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first));

    await keys.refresh();

    expect(keys.state).toBe('ready');
    expect(keys.lastError).toBeUndefined();
  });

  it('drops a key the issuer stopped publishing on the next refresh', async () => {
    server.reply('/jwks', jwksOf(first, second));
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(second));

    await keys.refresh();

    expect(await verify(keys, first)).toMatchObject({ ok: false, reason: 'token_key_unknown' });
    expect((await verify(keys, second)).ok).toBe(true);
  });

  it('leaves out the keys it cannot import and verifies with the others', async () => {
    const offCurve = { ...second.jwk, y: second.jwk.x };
    const unsupportedType = { kty: 'AKP', alg: 'ML-DSA-44', kid: 'pq-1', pub: 'AAAA' };
    server.reply('/jwks', { kind: 'json', body: { keys: [offCurve, unsupportedType, first.jwk] } });
    const keys = uriKeySet();

    await keys.refresh();

    expect(keys.state).toBe('ready');
    expect(keys.lastError).toBeUndefined();
    expect((await verify(keys, first)).ok).toBe(true);
    expect(await verify(keys, second)).toMatchObject({ ok: false, reason: 'token_key_unknown' });
    expect(server.requests('/jwks')).toBe(1);
  });

  it.each<[condition: string, reply: Reply, error: string | RegExp]>([
    ['answers 500', { kind: 'raw', status: 500, body: 'oops' }, 'HTTP 500'],
    ['answers 404', { kind: 'raw', status: 404, body: '' }, 'HTTP 404'],
    [
      'answers something other than JSON',
      { kind: 'raw', status: 200, body: '<html>' },
      'key set is not JSON',
    ],
    ['serves JSON without a keys array', { kind: 'json', body: { jwks: [] } }, 'no "keys" array'],
    ['serves JSON null', { kind: 'json', body: null }, 'no "keys" array'],
    [
      'serves keys that are not objects',
      { kind: 'json', body: { keys: ['x'] } },
      'no "keys" array',
    ],
    ['redirects elsewhere', { kind: 'redirect', location: '/elsewhere' }, 'fetch failed'],
    [
      'serves more than a megabyte',
      { kind: 'raw', status: 200, body: `{"keys":[],"pad":"${'x'.repeat(1024 * 1024)}"}` },
      'response is larger than 1048576 bytes',
    ],
  ])('fails to load when the server %s', async (_, reply, error) => {
    server.reply('/jwks', reply);
    const keys = uriKeySet();

    await keys.refresh();

    expect(keys.state).toBe('failed');
    expect(keys.lastError).toContain(server.jwksUri);
    expect(keys.lastError).toMatch(error);
  });

  it.each<[condition: string, keys: () => JWK[]]>([
    ['a private key (d)', () => [first.jwk, second.privateJwk]],
    ['a symmetric key (k)', () => [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ', kid: 'hmac' }]],
  ])('refuses a key set that holds %s and never repeats the key', async (_, published) => {
    const jwks = published();
    server.reply('/jwks', { kind: 'json', body: { keys: jwks } });
    const keys = uriKeySet();

    await keys.refresh();

    expect(keys.state).toBe('failed');
    expect(keys.lastError).toBe(
      `${server.jwksUri}: key set contains private or symmetric key material`,
    );
    for (const secret of jwks.flatMap((jwk) => [jwk.d, jwk.k])) {
      if (secret !== undefined) expect(keys.lastError).not.toContain(secret);
    }
  });

  it.each<[condition: string, reply: Reply]>([
    ['hangs before answering', { kind: 'hang' }],
    ['stalls after sending its headers', { kind: 'stall-body' }],
  ])('gives up after timeoutMs when the server %s and says so', async (_, reply) => {
    server.reply('/jwks', reply);
    const keys = uriKeySet({ timeoutMs: 100 });

    await keys.refresh();

    expect(keys.state).toBe('failed');
    expect(keys.lastError).toBe(`${server.jwksUri}: no answer within 100 ms`);
  });

  it('answers a lookup with unavailable when the first load fails', async () => {
    server.reply('/jwks', { kind: 'raw', status: 500, body: '' });
    const keys = uriKeySet();

    await expect(lookUpKid(keys, first.kid)).resolves.toBe('unavailable');

    expect(keys.state).toBe('failed');
    expect(server.requests('/jwks')).toBe(1);
  });

  it('does not fetch again inside the cooldown when keys were never loaded', async () => {
    server.reply('/jwks', { kind: 'raw', status: 500, body: '' });
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first));
    vi.advanceTimersByTime(COOLDOWN_MS - 1);

    expect(keys.lookUp('ES256', first.kid)).toEqual({ kind: 'unavailable' });
    expect(await verify(keys, first)).toEqual({
      ok: false,
      reason: 'provider_unavailable',
      message: "the provider's keys are not available",
    });
    expect(server.requests('/jwks')).toBe(1);
  });

  it('loads on the next lookup once the cooldown after a failed first load has passed', async () => {
    server.reply('/jwks', { kind: 'raw', status: 500, body: '' });
    const keys = uriKeySet();
    await keys.refresh();
    server.reply('/jwks', jwksOf(first));
    vi.advanceTimersByTime(COOLDOWN_MS);

    expect((await verify(keys, first)).ok).toBe(true);
    expect(keys.state).toBe('ready');
    expect(server.requests('/jwks')).toBe(2);
  });

  it('shares one fetch between concurrent lookups during the first load', async () => {
    server.reply('/jwks', jwksOf(first, second));
    const keys = uriKeySet();
    const release = server.hold();

    const lookups = [
      lookUpKid(keys, first.kid),
      lookUpKid(keys, second.kid),
      keys.refresh().then(() => 'refreshed'),
      lookUpKid(keys, first.kid),
    ];
    await vi.waitFor(() => expect(server.requests('/jwks')).toBe(1));
    release();

    await expect(Promise.all(lookups)).resolves.toEqual(['found', 'found', 'refreshed', 'found']);
    expect(server.requests('/jwks')).toBe(1);
    expect(keys.state).toBe('ready');
  });
});

describe('KeySet from OpenID Connect discovery', () => {
  const DISCOVERY_PATH = '/.well-known/openid-configuration';

  function discoveryKeySet(issuer = server.origin): KeySet {
    return new KeySet({ kind: 'discovery', issuer }, OPTIONS);
  }

  it('reads jwks_uri from the discovery document and loads the keys there', async () => {
    server.reply(DISCOVERY_PATH, {
      kind: 'json',
      body: { issuer: server.origin, jwks_uri: `${server.origin}/keys/v2` },
    });
    server.reply('/keys/v2', jwksOf(first));
    const keys = discoveryKeySet();

    await keys.refresh();
    const outcome = await verifyJwt(
      await signWith(first, server.origin),
      providerFor(keys, server.origin),
      NOW,
    );

    expect(keys.state).toBe('ready');
    expect(outcome.ok).toBe(true);
    expect(server.requests(DISCOVERY_PATH)).toBe(1);
    expect(server.requests('/keys/v2')).toBe(1);
  });

  it('builds the discovery URL without doubling the slash of an issuer that ends in one', async () => {
    const issuer = `${server.origin}/`;
    server.reply(DISCOVERY_PATH, { kind: 'json', body: { issuer, jwks_uri: server.jwksUri } });
    server.reply('/jwks', jwksOf(first));
    const keys = discoveryKeySet(issuer);

    await keys.refresh();

    expect(keys.state).toBe('ready');
    expect(server.requests(DISCOVERY_PATH)).toBe(1);
  });

  it.each<[condition: string, document: (origin: string) => Reply, error: string]>([
    [
      'names another issuer',
      (origin) => ({
        kind: 'json',
        body: { issuer: 'https://evil.example', jwks_uri: `${origin}/jwks` },
      }),
      'issuer "https://evil.example" differs from the configured one',
    ],
    [
      'names the issuer with a trailing slash added',
      (origin) => ({ kind: 'json', body: { issuer: `${origin}/`, jwks_uri: `${origin}/jwks` } }),
      'differs from the configured one',
    ],
    [
      'has no jwks_uri',
      (origin) => ({ kind: 'json', body: { issuer: origin } }),
      'jwks_uri is missing or not an http(s) URL',
    ],
    [
      'has a jwks_uri that is not http(s)',
      (origin) => ({ kind: 'json', body: { issuer: origin, jwks_uri: 'file:///etc/jwks.json' } }),
      'jwks_uri is missing or not an http(s) URL',
    ],
    ['is not JSON', () => ({ kind: 'raw', status: 200, body: 'hello' }), 'response is not JSON'],
    ['is a JSON array', () => ({ kind: 'json', body: [] }), 'differs from the configured one'],
    ['is a JSON string', () => ({ kind: 'json', body: 'x' }), 'response is not a JSON object'],
    ['answers 500', () => ({ kind: 'raw', status: 500, body: '' }), 'HTTP 500'],
  ])('refuses a discovery document that %s', async (_, document, error) => {
    server.reply(DISCOVERY_PATH, document(server.origin));
    server.reply('/jwks', jwksOf(first));
    const keys = discoveryKeySet();

    await keys.refresh();

    expect(keys.state).toBe('failed');
    expect(keys.lastError).toContain(`${server.origin}${DISCOVERY_PATH}: `);
    expect(keys.lastError).toContain(error);
    expect(server.requests('/jwks')).toBe(0);
  });
});

describe('secrets in JWKS URLs leaking into error messages', () => {
  const SECRET = 's3cr3t-never-logged';

  /** The URI with a password, a secret query parameter and a fragment added. */
  function withSecrets(uri: string): string {
    const url = new URL(uri);
    url.username = 'admin';
    url.password = SECRET;
    url.search = `?api_key=${SECRET}`;
    url.hash = `#${SECRET}`;
    return url.href;
  }

  function withSecretQuery(uri: string): string {
    return `${uri}?api_key=${SECRET}#${SECRET}`;
  }

  it.each<[condition: string, reply: Reply, error: string]>([
    ['answers 500', { kind: 'raw', status: 500, body: '' }, 'HTTP 500'],
    ['answers something other than JSON', { kind: 'raw', status: 200, body: '<html>' }, 'not JSON'],
    [
      'serves private key material',
      { kind: 'json', body: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
      'private or symmetric key material',
    ],
    [
      'serves more than a megabyte',
      { kind: 'raw', status: 200, body: 'x'.repeat(1024 * 1024 + 1) },
      'response is larger than',
    ],
    ['hangs before answering', { kind: 'hang' }, 'no answer within 100 ms'],
  ])(
    'names a JWKS URI without its query or fragment when the server %s',
    async (_, reply, error) => {
      server.reply('/jwks', reply);
      const keys = new KeySet(
        { kind: 'uri', uri: withSecretQuery(server.jwksUri) },
        { ...OPTIONS, timeoutMs: 100 },
      );

      await keys.refresh();

      expect(keys.lastError?.startsWith(`${server.jwksUri}: `)).toBe(true);
      expect(keys.lastError).toContain(error);
      expect(keys.lastError).not.toContain(SECRET);
    },
  );

  it('names a JWKS URI without its user name and password when the fetch fails', async () => {
    const keys = new KeySet({ kind: 'uri', uri: withSecrets(server.jwksUri) }, OPTIONS);

    await keys.refresh();

    expect(keys.lastError).toBe(`${server.jwksUri}: fetch failed`);
    expect(keys.lastError).not.toContain('admin');
  });

  it('names a discovered jwks_uri without its query or fragment', async () => {
    server.reply('/.well-known/openid-configuration', {
      kind: 'json',
      body: { issuer: server.origin, jwks_uri: withSecretQuery(server.jwksUri) },
    });
    server.reply('/jwks', { kind: 'raw', status: 503, body: '' });
    const keys = new KeySet({ kind: 'discovery', issuer: server.origin }, OPTIONS);

    await keys.refresh();

    expect(keys.lastError).toBe(`${server.jwksUri}: HTTP 503`);
  });

  it('names a discovery URL built from an issuer with a password without it', async () => {
    const issuer = new URL(server.origin);
    issuer.username = 'admin';
    issuer.password = SECRET;
    const keys = new KeySet({ kind: 'discovery', issuer: issuer.href }, OPTIONS);

    await keys.refresh();

    expect(keys.lastError).toBe(`${server.origin}/.well-known/openid-configuration: fetch failed`);
  });

  it('quotes at most 200 characters of a mismatching issuer from a 900 KB discovery document', async () => {
    const advertised = `https://evil.example/${'a'.repeat(900 * 1024)}`;
    server.reply('/.well-known/openid-configuration', {
      kind: 'json',
      body: { issuer: advertised, jwks_uri: server.jwksUri },
    });
    const keys = new KeySet({ kind: 'discovery', issuer: server.origin }, OPTIONS);

    await keys.refresh();

    expect(keys.lastError).toBe(
      `${server.origin}/.well-known/openid-configuration: issuer "${advertised.slice(0, 200)}..." ` +
        `(${advertised.length} characters) differs from the configured one`,
    );
  });

  it('does not cut a quoted issuer between the two halves of a surrogate pair', async () => {
    const advertised = `${'a'.repeat(199)}\u{1F600}${'b'.repeat(100)}`;
    server.reply('/.well-known/openid-configuration', {
      kind: 'json',
      body: { issuer: advertised, jwks_uri: server.jwksUri },
    });
    const keys = new KeySet({ kind: 'discovery', issuer: server.origin }, OPTIONS);

    await keys.refresh();

    expect(keys.lastError).toContain(`issuer "${'a'.repeat(199)}..."`);
  });

  it.each([
    'http://admin:s3cr3t@idp.example/jwks',
    'https://admin@idp.example/jwks',
    'https://:s3cr3t@idp.example/jwks',
  ])('refuses the configured jwks.uri %s, which carries a user name or password', (uri) => {
    const yaml = `
providers:
  - { name: corp, issuer: https://idp.example, audiences: [api], jwks: { uri: "${uri}" } }
`;

    expect(() => parseConfig(yaml, '/etc/tollgate.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(yaml, '/etc/tollgate.yaml')).toThrow(
      'providers[0].jwks.uri: must not carry a user name or password; tollgate sends no ' +
        'credentials to the JWKS endpoint',
    );
  });

  it('accepts a configured jwks.uri with a query, which it never names in a message', () => {
    const yaml = `
providers:
  - { name: corp, issuer: https://idp.example, audiences: [api], jwks: { uri: "https://idp.example/jwks?tenant=a" } }
`;

    expect(() => parseConfig(yaml, '/etc/tollgate.yaml')).not.toThrow();
  });
});

describe('KeySet from a file', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tollgate-key-set-'));
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  async function writeJwks(...keys: SigningKey[]): Promise<KeySource> {
    const path = join(directory, 'jwks.json');
    await writeFile(path, JSON.stringify({ keys: keys.map((key) => key.jwk) }));
    return { kind: 'file', path };
  }

  it('does not reread the file on an unknown kid, only on refresh', async () => {
    const keys = new KeySet(await writeJwks(first), { ...OPTIONS, cooldownMs: 0 });
    await keys.refresh();
    await writeJwks(first, second);

    expect(keys.lookUp('ES256', second.kid)).toEqual({ kind: 'no-match' });
    await keys.refresh();
    await expect(lookUpKid(keys, second.kid)).resolves.toBe('found');
  });

  it('names the file when it holds no key set', async () => {
    const path = join(directory, 'jwks.json');
    await writeFile(path, 'keys: []');
    const keys = new KeySet({ kind: 'file', path }, OPTIONS);

    await keys.refresh();

    expect(keys.state).toBe('failed');
    expect(keys.lastError).toBe(`${path}: key set is not JSON`);
  });
});
