/**
 * Differential test: tollgate verifies signatures with node:crypto and checks claims itself, where
 * it used to call jose's jwtVerify. For each token of a corpus, jwtVerify with the options
 * tollgate used to pass must accept exactly the tokens tollgate accepts, except in the few cases
 * listed with the reason tollgate is stricter.
 */
import { generateKeyPairSync, type KeyObject, sign as signBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  base64url,
  CompactSign,
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASYMMETRIC_ALGORITHMS } from '../../src/config/schema.js';
import type { JwtProvider } from '../../src/identity/jwt-provider.js';
import { KeySet } from '../../src/identity/key-set.js';
import { type TokenFailureReason, verifyJwt } from '../../src/identity/verify-jwt.js';

/** The frozen clock of every case, in seconds since the epoch. */
const NOW = 1_750_000_000;
const SKEW_SECONDS = 30;
const ISSUER = 'https://idp.example';
const AUDIENCE = 'https://orders-api.example';
const OTHER_API = 'https://other-api.example';

const CLAIMS: JWTPayload = {
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-1',
  iat: NOW - 60,
  exp: NOW + 300,
};

interface SigningKeys {
  readonly rsa: KeyObject;
  readonly shortRsa: KeyObject;
  readonly p256: KeyObject;
  /** A second P-256 key, published beside the first as during a rotation. */
  readonly nextP256: KeyObject;
  readonly unpublishedP256: KeyObject;
  readonly p384: KeyObject;
  readonly p521: KeyObject;
  readonly ed25519: KeyObject;
  /** The RSA public key as PEM, which an alg-confusion attack uses as an HMAC secret. */
  readonly rsaPublicPem: Uint8Array;
}

let signing: SigningKeys;
let jwks: JSONWebKeySet;
let keys: KeySet;
let directory: string;

beforeAll(async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const shortRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
  const [p256, nextP256, p384, p521] = [ec('P-256'), ec('P-256'), ec('P-384'), ec('P-521')];
  const ed25519 = generateKeyPairSync('ed25519');
  signing = {
    rsa: rsa.privateKey,
    shortRsa: shortRsa.privateKey,
    p256: p256.privateKey,
    nextP256: nextP256.privateKey,
    unpublishedP256: ec('P-256').privateKey,
    p384: p384.privateKey,
    p521: p521.privateKey,
    ed25519: ed25519.privateKey,
    rsaPublicPem: new TextEncoder().encode(
      rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ),
  };

  const publish = (key: KeyObject, members: JWK): JWK => ({
    ...(key.export({ format: 'jwk' }) as JWK),
    ...members,
  });
  // One RSA key under several kids, each published with different members.
  jwks = {
    keys: [
      publish(rsa.publicKey, { kid: 'rsa-1', alg: 'RS256', use: 'sig' }),
      publish(rsa.publicKey, { kid: 'rsa-any' }),
      publish(rsa.publicKey, { kid: 'rsa-pss', alg: 'PS256' }),
      publish(rsa.publicKey, { kid: 'rsa-rs384-only', alg: 'RS384' }),
      publish(rsa.publicKey, { kid: 'rsa-enc', use: 'enc' }),
      publish(rsa.publicKey, { kid: 'rsa-encrypt-only', key_ops: ['encrypt'] }),
      publish(shortRsa.publicKey, { kid: 'rsa-short', alg: 'RS256' }),
      publish(p256.publicKey, { kid: 'es-1', alg: 'ES256' }),
      publish(nextP256.publicKey, { kid: 'es-2', alg: 'ES256' }),
      publish(p384.publicKey, { kid: 'es384-1' }),
      publish(p521.publicKey, { kid: 'es512-1', alg: 'ES512' }),
      publish(ed25519.publicKey, { kid: 'ed-1', alg: 'EdDSA' }),
      publish(ed25519.publicKey, { kid: 'ed-any' }),
    ],
  };

  directory = await mkdtemp(join(tmpdir(), 'tollgate-jose-parity-'));
  const path = join(directory, 'jwks.json');
  await writeFile(path, JSON.stringify(jwks));
  keys = new KeySet({ kind: 'file', path }, { timeoutMs: 1000, cooldownMs: 0, refreshMs: 60_000 });
  await keys.refresh();
});

afterAll(() => rm(directory, { recursive: true, force: true }));

function provider(overrides: Partial<JwtProvider> = {}): JwtProvider {
  return {
    name: 'corp',
    issuer: ISSUER,
    audiences: [AUDIENCE],
    algorithms: [...ASYMMETRIC_ALGORITHMS],
    clockSkewSeconds: SKEW_SECONDS,
    maxTokenAgeSeconds: undefined,
    credentials: [{ kind: 'header', header: 'authorization', scheme: 'Bearer' }],
    claimHeaders: [],
    keys,
    ...overrides,
  };
}

/**
 * jose's verdict with the options tollgate passed to jwtVerify, trying each candidate key when a
 * token without kid matches several, as tollgate did.
 */
async function joseAccepts(token: string, verifier: JwtProvider): Promise<boolean> {
  const options: JWTVerifyOptions = {
    issuer: verifier.issuer,
    audience: [...verifier.audiences],
    algorithms: [...verifier.algorithms],
    clockTolerance: verifier.clockSkewSeconds,
    currentDate: new Date(NOW * 1000),
    requiredClaims: ['exp'],
    ...(verifier.maxTokenAgeSeconds === undefined
      ? {}
      : { maxTokenAge: verifier.maxTokenAgeSeconds }),
  };
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), options);
    return true;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) return false;
    for await (const key of error) {
      if (
        await jwtVerify(token, key, options).then(
          () => true,
          () => false,
        )
      )
        return true;
    }
    return false;
  }
}

type Header = Partial<JWTHeaderParameters> & { alg: string };

function sign(key: KeyObject | Uint8Array, header: Header, changes: JWTPayload = {}) {
  return new SignJWT({ ...CLAIMS, ...changes }).setProtectedHeader(header).sign(key);
}

const es256 = (changes: JWTPayload = {}) =>
  sign(signing.p256, { alg: 'ES256', kid: 'es-1' }, changes);

/** Claims without some of the defaults. */
function es256Without(...names: string[]): Promise<string> {
  const claims: JWTPayload = { ...CLAIMS };
  for (const name of names) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'es-1' }).sign(signing.p256);
}

/** A JWS over bytes that JSON.stringify cannot produce (1e400) or that are not a claims set. */
function signRaw(payload: string, header: Header = { alg: 'ES256', kid: 'es-1' }) {
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader(header)
    .sign(signing.p256, header.crit === undefined ? {} : { crit: { b64: true } });
}

function encodeJson(value: object): string {
  return base64url.encode(JSON.stringify(value));
}

function withSignature(token: string, change: (signature: string) => string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${header}.${payload}.${change(signature)}`;
}

/** The signature with the bits of its first byte inverted. */
function flipFirstByte(signature: string): string {
  const bytes = base64url.decode(signature);
  bytes[0] = (bytes[0] as number) ^ 0xff;
  return base64url.encode(bytes);
}

/**
 * The ES256 signature with the 4 unused bits of its last character set: 64 bytes take 86
 * characters, the last carrying 2 bits of data, so the bytes decoded stay the same.
 */
function setUnusedBits(signature: string): string {
  const last = signature.charCodeAt(signature.length - 1);
  return `${signature.slice(0, -1)}${String.fromCharCode(last + 1)}`;
}

function withHeader(token: string, header: object): string {
  const [, payload, signature] = token.split('.');
  return `${encodeJson(header)}.${payload}.${signature}`;
}

/** RS256 by hand with the 1024-bit key, which jose refuses to sign with. */
function signWithShortRsaKey(): string {
  const input = `${encodeJson({ alg: 'RS256', kid: 'rsa-short' })}.${encodeJson(CLAIMS)}`;
  const signature = signBytes('sha256', Buffer.from(input), signing.shortRsa);
  return `${input}.${base64url.encode(signature)}`;
}

interface ParityCase {
  readonly condition: string;
  readonly token: () => string | Promise<string>;
  /** 'valid', or the reason tollgate refuses the token with. */
  readonly expected: 'valid' | TokenFailureReason;
  readonly provider?: Partial<JwtProvider>;
}

interface StricterCase extends ParityCase {
  /** Why tollgate refuses a token that jwtVerify accepts. */
  readonly why: string;
}

const MAX_AGE: Partial<JwtProvider> = { maxTokenAgeSeconds: 600 };

const AGREEING: ParityCase[] = [
  {
    condition: 'signed RS256',
    token: () => sign(signing.rsa, { alg: 'RS256', kid: 'rsa-1' }),
    expected: 'valid',
  },
  ...(['RS384', 'RS512', 'PS384', 'PS512'] as const).map(
    (alg): ParityCase => ({
      condition: `signed ${alg} with a key published without alg`,
      token: () => sign(signing.rsa, { alg, kid: 'rsa-any' }),
      expected: 'valid',
    }),
  ),
  {
    condition: 'signed PS256',
    token: () => sign(signing.rsa, { alg: 'PS256', kid: 'rsa-pss' }),
    expected: 'valid',
  },
  { condition: 'signed ES256', token: () => es256(), expected: 'valid' },
  {
    condition: 'signed ES384',
    token: () => sign(signing.p384, { alg: 'ES384', kid: 'es384-1' }),
    expected: 'valid',
  },
  {
    condition: 'signed ES512',
    token: () => sign(signing.p521, { alg: 'ES512', kid: 'es512-1' }),
    expected: 'valid',
  },
  {
    condition: 'signed EdDSA',
    token: () => sign(signing.ed25519, { alg: 'EdDSA', kid: 'ed-1' }),
    expected: 'valid',
  },
  {
    condition: 'signed Ed25519 (RFC 9864) with a key published without alg',
    token: () => sign(signing.ed25519, { alg: 'Ed25519', kid: 'ed-any' }),
    expected: 'valid',
  },
  {
    condition: 'without kid, signed by the second of two published P-256 keys',
    token: () => sign(signing.nextP256, { alg: 'ES256' }),
    expected: 'valid',
  },
  {
    condition: 'whose aud is an array holding ours',
    token: () => es256({ aud: [OTHER_API, AUDIENCE] }),
    expected: 'valid',
  },
  {
    condition: 'that expired less than the skew ago',
    token: () => es256({ exp: NOW - SKEW_SECONDS + 1 }),
    expected: 'valid',
  },
  {
    condition: 'whose nbf is ahead by exactly the skew',
    token: () => es256({ nbf: NOW + SKEW_SECONDS }),
    expected: 'valid',
  },
  {
    condition: 'as old as the maximum age plus the skew',
    token: () => es256({ iat: NOW - 600 - SKEW_SECONDS }),
    expected: 'valid',
    provider: MAX_AGE,
  },
  ...(
    [
      ['RS256', () => sign(signing.rsa, { alg: 'RS256', kid: 'rsa-1' })],
      ['PS256', () => sign(signing.rsa, { alg: 'PS256', kid: 'rsa-pss' })],
      ['ES256', () => es256()],
      ['ES512', () => sign(signing.p521, { alg: 'ES512', kid: 'es512-1' })],
      ['EdDSA', () => sign(signing.ed25519, { alg: 'EdDSA', kid: 'ed-1' })],
    ] as const
  ).map(
    ([alg, token]): ParityCase => ({
      condition: `signed ${alg} whose signature has a flipped byte`,
      token: async () => withSignature(await token(), flipFirstByte),
      expected: 'token_signature_invalid',
    }),
  ),
  {
    condition: "carrying another token's payload",
    token: async () => {
      const [header, , signature] = (await es256()).split('.');
      const [, payload] = (await es256({ sub: 'admin' })).split('.');
      return `${header}.${payload}.${signature}`;
    },
    expected: 'token_signature_invalid',
  },
  {
    condition: 'whose alg was changed to another the key allows',
    token: async () =>
      withHeader(await sign(signing.rsa, { alg: 'RS256', kid: 'rsa-any' }), {
        alg: 'RS384',
        kid: 'rsa-any',
      }),
    expected: 'token_signature_invalid',
  },
  {
    condition: 'whose alg was changed to one the key is not published for',
    token: async () =>
      withHeader(await sign(signing.rsa, { alg: 'RS256', kid: 'rsa-1' }), {
        alg: 'PS256',
        kid: 'rsa-1',
      }),
    expected: 'token_key_unknown',
  },
  {
    condition: 'whose alg was changed to one of another curve',
    token: async () => withHeader(await es256(), { alg: 'ES384', kid: 'es-1' }),
    expected: 'token_key_unknown',
  },
  {
    condition: 'whose alg is ES256 while its kid names an RSA key',
    token: async () => withHeader(await es256(), { alg: 'ES256', kid: 'rsa-any' }),
    expected: 'token_key_unknown',
  },
  {
    condition: 'signed HS256 with the RSA public key as secret',
    token: () => sign(signing.rsaPublicPem, { alg: 'HS256', kid: 'rsa-1' }),
    expected: 'token_algorithm_not_allowed',
  },
  {
    condition: 'that is unsecured (alg none)',
    token: () => `${encodeJson({ alg: 'none' })}.${encodeJson(CLAIMS)}.`,
    expected: 'token_algorithm_not_allowed',
  },
  {
    condition: 'signed RS256 while the provider allows ES256 only',
    token: () => sign(signing.rsa, { alg: 'RS256', kid: 'rsa-1' }),
    expected: 'token_algorithm_not_allowed',
    provider: { algorithms: ['ES256'] },
  },
  {
    condition: 'whose kid is not published',
    token: () => sign(signing.p256, { alg: 'ES256', kid: 'es-retired' }),
    expected: 'token_key_unknown',
  },
  {
    condition: 'without kid, signed by a key that is not published',
    token: () => sign(signing.unpublishedP256, { alg: 'ES256' }),
    expected: 'token_signature_invalid',
  },
  {
    condition: 'signed by an RSA key of 1024 bits',
    token: signWithShortRsaKey,
    expected: 'token_signature_invalid',
  },
  {
    condition: "naming a key published with use 'enc'",
    token: () => sign(signing.rsa, { alg: 'RS256', kid: 'rsa-enc' }),
    expected: 'token_key_unknown',
  },
  {
    condition: "naming a key whose key_ops lack 'verify'",
    token: () => sign(signing.rsa, { alg: 'RS256', kid: 'rsa-encrypt-only' }),
    expected: 'token_key_unknown',
  },
  {
    condition: 'naming a key published for another alg',
    token: () => sign(signing.rsa, { alg: 'RS256', kid: 'rsa-rs384-only' }),
    expected: 'token_key_unknown',
  },
  {
    condition: 'that has expired',
    token: () => es256({ exp: NOW - 31 }),
    expected: 'token_expired',
  },
  {
    condition: 'older than the maximum age',
    token: () => es256({ iat: NOW - 631 }),
    expected: 'token_expired',
    provider: MAX_AGE,
  },
  {
    condition: 'whose nbf is ahead by more than the skew',
    token: () => es256({ nbf: NOW + 31 }),
    expected: 'token_not_yet_valid',
  },
  {
    condition: 'from another issuer',
    token: () => es256({ iss: 'https://evil.example' }),
    expected: 'token_issuer_invalid',
  },
  { condition: 'without iss', token: () => es256Without('iss'), expected: 'token_claims_invalid' },
  {
    condition: 'for another audience',
    token: () => es256({ aud: OTHER_API }),
    expected: 'token_audience_invalid',
  },
  {
    condition: 'whose aud array does not hold ours',
    token: () => es256({ aud: [OTHER_API] }),
    expected: 'token_audience_invalid',
  },
  {
    condition: 'whose exp is a string',
    token: () => es256({ exp: String(NOW + 300) as never }),
    expected: 'token_claims_invalid',
  },
  { condition: 'without exp', token: () => es256Without('exp'), expected: 'token_claims_invalid' },
  {
    condition: 'whose nbf is a string',
    token: () => es256({ nbf: 'yesterday' as never }),
    expected: 'token_claims_invalid',
  },
  {
    condition: 'without iat while a maximum age is set',
    token: () => es256Without('iat'),
    expected: 'token_claims_invalid',
    provider: MAX_AGE,
  },
  {
    condition: 'whose header makes an unknown extension critical',
    token: () =>
      new SignJWT({ ...CLAIMS })
        .setProtectedHeader({ alg: 'ES256', kid: 'es-1', crit: ['tenant'], tenant: 'a' })
        .sign(signing.p256, { crit: { tenant: true } }),
    expected: 'token_malformed',
  },
  {
    condition: 'with four segments',
    token: async () => `${await es256()}.e30`,
    expected: 'token_malformed',
  },
  {
    condition: "whose signature holds '+'",
    token: async () => withSignature(await es256(), (signature) => `+${signature.slice(1)}`),
    expected: 'token_malformed',
  },
  {
    condition: 'whose payload is a JSON array',
    token: () => signRaw('[1]'),
    expected: 'token_malformed',
  },
  {
    condition: 'whose header has no alg',
    token: async () => withHeader(await es256(), { kid: 'es-1' }),
    expected: 'token_malformed',
  },
];

const STRICTER: StricterCase[] = [
  {
    condition: 'whose iat is ahead by more than the skew',
    token: () => es256({ iat: NOW + 31 }),
    expected: 'token_not_yet_valid',
    why: 'RFC 7519 §4.1.6 leaves a future iat to the application; tollgate refuses it',
  },
  {
    condition: 'whose exp is 1e400',
    token: () => signRaw(JSON.stringify({ ...CLAIMS, exp: 0 }).replace('"exp":0', '"exp":1e400')),
    expected: 'token_claims_invalid',
    why: 'JSON parses 1e400 to Infinity: a token that never expires',
  },
  {
    condition: "whose signature ends in '=' padding",
    token: async () => withSignature(await es256(), (signature) => `${signature}==`),
    expected: 'token_malformed',
    why: 'RFC 7515 §2 base64url has no padding; accepting it makes tokens malleable',
  },
  {
    condition: 'whose signature holds a space',
    token: async () =>
      withSignature(await es256(), (signature) => `${signature.slice(0, 8)} ${signature.slice(8)}`),
    expected: 'token_malformed',
    why: 'whitespace is not base64url; atob skips it',
  },
  {
    condition: 'whose signature sets the unused bits of its last character',
    token: async () => withSignature(await es256(), setUnusedBits),
    expected: 'token_malformed',
    why: 'RFC 4648 §3.5 encodings are canonical; atob ignores the unused bits',
  },
  {
    condition: "whose header makes b64 critical (RFC 7797's unencoded payload option)",
    token: () =>
      signRaw(JSON.stringify(CLAIMS), { alg: 'ES256', kid: 'es-1', crit: ['b64'], b64: true }),
    expected: 'token_malformed',
    why: 'tollgate understands no header extension; b64 has no use in a JWT',
  },
];

function expectedOutcome(expected: ParityCase['expected']) {
  return expected === 'valid'
    ? { ok: true, verified: expect.anything() }
    : { ok: false, reason: expected, message: expect.any(String) };
}

describe('verifyJwt compared with jose jwtVerify', () => {
  it.each(AGREEING)(
    'answers as jose does a token $condition: $expected',
    async ({ token: makeToken, expected, provider: overrides }) => {
      const token = await makeToken();
      const verifier = provider(overrides);

      const outcome = verifyJwt(token, verifier, NOW);

      // The keys are loaded from a file: every answer is a value, never a promise.
      expect(outcome).not.toBeInstanceOf(Promise);
      expect(outcome).toEqual(expectedOutcome(expected));
      expect(await joseAccepts(token, verifier)).toBe(expected === 'valid');
    },
  );

  it.each(STRICTER)(
    'refuses a token $condition, which jose accepts, as $expected: $why',
    async ({ token: makeToken, expected, provider: overrides }) => {
      const token = await makeToken();
      const verifier = provider(overrides);

      const outcome = verifyJwt(token, verifier, NOW);

      expect(outcome).toEqual(expectedOutcome(expected));
      expect(await joseAccepts(token, verifier)).toBe(true);
    },
  );

  it('builds its unused-bits case from a signature string that decodes to the same bytes', async () => {
    const original = (await es256()).split('.')[2] as string;

    const altered = setUnusedBits(original);

    expect(altered).not.toBe(original);
    expect(base64url.decode(altered)).toEqual(base64url.decode(original));
  });
});
