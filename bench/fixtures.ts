/**
 * What the benchmark feeds tollgate: an RS256 and an ES256 signing key, the JWKS file that
 * publishes them, a configuration of 20 rules, and access tokens. Keys and minted token sets are
 * kept under bench/results/tmp/ so a rerun skips minting (100k RS256 signatures take over a minute).
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  jwtVerify,
} from 'jose';

export const ISSUER = 'https://idp.bench.tollgate.invalid';
export const AUDIENCE = 'orders-api';
export const HOST = 'orders.example.com';

export type BenchAlgorithm = 'RS256' | 'ES256';

/** Minted tokens stay usable this long, so cached sets survive many reruns. */
const TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600;
/** A cached set is minted again when it would expire within this margin. */
const MIN_REMAINING_SECONDS = 24 * 3600;

interface StoredKeys {
  readonly RS256: JWK;
  readonly ES256: JWK;
}

export interface Fixtures {
  readonly dir: string;
  readonly jwksFile: string;
  /** Writes a tollgate configuration listening on `listen`; returns its path. */
  writeConfig(name: string, listen: string): string;
  /**
   * `count` distinct valid tokens signed with `algorithm` carrying `scope`, minted once and
   * cached on disk (keyed by algorithm, count, scope and the key's thumbprint).
   */
  tokens(algorithm: BenchAlgorithm, count: number, scope: string): Promise<string[]>;
}

/** Creates (or reuses) the keys and JWKS under `dir`. */
export async function prepareFixtures(dir: string): Promise<Fixtures> {
  mkdirSync(dir, { recursive: true });
  const keys = await loadOrCreateKeys(join(dir, 'keys.json'));
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    `${JSON.stringify({ keys: [publicHalf(keys.RS256), publicHalf(keys.ES256)] })}\n`,
  );

  return {
    dir,
    jwksFile,
    writeConfig: (name, listen) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, renderConfig(listen));
      return file;
    },
    tokens: (algorithm, count, scope) =>
      loadOrMintTokens(dir, keys[algorithm], algorithm, count, scope),
  };
}

async function loadOrCreateKeys(file: string): Promise<StoredKeys> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StoredKeys;

  const generate = async (algorithm: BenchAlgorithm): Promise<JWK> => {
    const { privateKey } = await generateKeyPair(algorithm, { extractable: true });
    const jwk = await exportJWK(privateKey);
    return { ...jwk, alg: algorithm, use: 'sig', kid: `bench-${algorithm.toLowerCase()}` };
  };
  const keys: StoredKeys = { RS256: await generate('RS256'), ES256: await generate('ES256') };
  writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  return keys;
}

/** The JWK without its private members (RSA d, p, q, dp, dq, qi; EC d). */
function publicHalf(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
  return rest;
}

async function loadOrMintTokens(
  dir: string,
  jwk: JWK,
  algorithm: BenchAlgorithm,
  count: number,
  scope: string,
): Promise<string[]> {
  const thumbprint = await calculateJwkThumbprint(publicHalf(jwk));
  const file = join(dir, `tokens-${algorithm}-${count}-${scope.replace(/[^a-z0-9]/gi, '_')}.json`);
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as {
      thumbprint: string;
      exp: number;
      tokens: string[];
    };
    if (stored.thumbprint === thumbprint && stored.exp - nowSeconds > MIN_REMAINING_SECONDS) {
      return stored.tokens;
    }
  }

  const exp = nowSeconds + TOKEN_LIFETIME_SECONDS;
  const tokens = mintTokens(jwk, algorithm, count, scope, nowSeconds, exp);
  await assertVerifies(tokens[0] as string, jwk, algorithm);
  writeFileSync(file, JSON.stringify({ thumbprint, exp, tokens }));
  return tokens;
}

/** Signs with node:crypto directly: synchronous and several times faster than WebCrypto here. */
function mintTokens(
  jwk: JWK,
  algorithm: BenchAlgorithm,
  count: number,
  scope: string,
  iat: number,
  exp: number,
): string[] {
  const key = createPrivateKey({ key: jwk as never, format: 'jwk' });
  const header = base64url(JSON.stringify({ alg: algorithm, typ: 'at+jwt', kid: jwk.kid }));
  const tokens: string[] = [];
  for (let index = 0; index < count; index++) {
    const payload = base64url(
      JSON.stringify({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: `user-${index}`,
        client_id: 'bench-client',
        scope,
        iat,
        exp,
        jti: `${algorithm}-${index}-${iat}`,
      }),
    );
    const input = `${header}.${payload}`;
    tokens.push(`${input}.${signWith(key, algorithm, input)}`);
  }
  return tokens;
}

function signWith(key: KeyObject, algorithm: BenchAlgorithm, input: string): string {
  const signature =
    algorithm === 'ES256'
      ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key);
  return signature.toString('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** A set whose first token jose refuses would make every cold request a denial: stop early. */
async function assertVerifies(token: string, jwk: JWK, algorithm: BenchAlgorithm): Promise<void> {
  const keySet = createLocalJWKSet({ keys: [publicHalf(jwk)] });
  await jwtVerify(token, keySet, { issuer: ISSUER, audience: AUDIENCE, algorithms: [algorithm] });
}

/**
 * 20 rules. The 17 fillers match the same host with other paths, so each request walks their
 * path patterns; the three the scenarios hit come last: `public` (18th), `no-admin` (19th) and
 * `read-orders` (20th, the rule of the warm, cold and denied scenarios).
 */
function renderConfig(listen: string): string {
  const fillers = Array.from({ length: 17 }, (_, index) => {
    const version = `v${index + 1}`;
    const methods = index % 2 === 0 ? '[GET, HEAD]' : '[POST, PUT, PATCH, DELETE]';
    return [
      `  - name: filler-${index + 1}`,
      `    match: { hosts: [${HOST}, api.example.com], paths: [/${version}/items, /${version}/items/*, /${version}/admin/**], methods: ${methods} }`,
      '    action: allow',
      `    require: { providers: [bench], scopes: [items:${version}] }`,
    ].join('\n');
  });
  return `# Generated by bench/fixtures.ts for the benchmark; do not edit.
listen:
  grpc: ${listen}

providers:
  - name: bench
    issuer: ${ISSUER}
    audiences: [${AUDIENCE}]
    jwks: { file: ./jwks.json }
    algorithms: [RS256, ES256]
    claimHeaders:
      - { claim: sub, header: x-auth-subject }
      - { claim: client_id, header: x-auth-client-id }

rules:
${fillers.join('\n')}
  - name: public
    match: { hosts: [${HOST}], paths: [/public/**], methods: [GET] }
    action: allow
  - name: no-admin
    match: { paths: [/admin/**] }
    action: deny
  - name: read-orders
    match: { hosts: [${HOST}], paths: [/orders, /orders/*], methods: [GET, HEAD] }
    action: allow
    require: { providers: [bench], scopes: [orders:read] }

defaultAction: deny
# The cache as shipped (cache.maxTokens 10,000, cache.maxMegabytes 8): the memory run measures
# the defaults a sidecar gets.
log: { level: info }
`;
}
