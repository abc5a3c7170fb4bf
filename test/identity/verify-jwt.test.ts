import {
  constants,
  createHash,
  generateKeyPairSync,
  type KeyObject,
  sign as signBytes,
} from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  base64url,
  CompactSign,
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtProvider } from '../../src/identity/jwt-provider.js';
import { KeySet } from '../../src/identity/key-set.js';
import { type TokenFailureReason, verifyJwt } from '../../src/identity/verify-jwt.js';

/** The frozen clock of every case, in seconds since the epoch. */
const NOW = 1_750_000_000;
const SKEW_SECONDS = 30;
const ISSUER = 'https://idp.example';
const AUDIENCE = 'https://orders-api.example';
const OTHER_API = 'https://other-api.example';

/** Valid against the provider at NOW; each case changes one thing. */
const CLAIMS: JWTPayload = {
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'user-1',
  client_id: 'orders-web',
  iat: NOW - 60,
  exp: NOW + 300,
};

let directory: string;
let ecKey: CryptoKey;
let rsaKey: CryptoKey;
/** 1024 bits, below the 2048 that RFC 7518 §3.3 requires; jose will not sign with it. */
let shortRsaKey: KeyObject;
let keys: KeySet;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tollgate-verify-jwt-'));
  const ec = await generateKeyPair('ES256');
  const rsa = await generateKeyPair('RS256');
  const shortRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  ecKey = ec.privateKey;
  rsaKey = rsa.privateKey;
  shortRsaKey = shortRsa.privateKey;

  // The RSA key is published too, so an RS256 token fails on the allow-list alone.
  const jwks = {
    keys: [
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...shortRsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-short', alg: 'RS256' },
    ],
  };
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
    algorithms: ['ES256'],
    clockSkewSeconds: SKEW_SECONDS,
    maxTokenAgeSeconds: undefined,
    credentials: [{ kind: 'header', header: 'authorization', scheme: 'Bearer' }],
    claimHeaders: [],
    keys,
    ...overrides,
  };
}

/** Signs with the published EC key unless the header or key says otherwise. */
function sign(
  changes: JWTPayload = {},
  header: Partial<JWTHeaderParameters> = {},
  key: CryptoKey | Uint8Array = ecKey,
): Promise<string> {
  return new SignJWT({ ...CLAIMS, ...changes })
    .setProtectedHeader({ alg: 'ES256', kid: 'ec-1', typ: 'at+jwt', ...header })
    .sign(key);
}

/** Claims without some of the defaults. */
function signWithout(...names: string[]): Promise<string> {
  const claims: JWTPayload = { ...CLAIMS };
  for (const name of names) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(ecKey);
}

function encodeJson(value: object): string {
  return base64url.encode(JSON.stringify(value));
}

/** RFC 7519 §6.1: an unsecured JWT has alg "none" and an empty signature. */
function unsecuredToken(): string {
  return `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson(CLAIMS)}.`;
}

/** The signed token with a different payload spliced in, keeping the original signature. */
async function tamperedToken(): Promise<string> {
  const [header, , signature] = (await sign()).split('.');
  return `${header}.${encodeJson({ ...CLAIMS, sub: 'admin' })}.${signature}`;
}

/** RS256 by hand with the short RSA key, which jose refuses to sign with. */
function signWithShortRsaKey(): string {
  const input = `${encodeJson({ alg: 'RS256', kid: 'rsa-short' })}.${encodeJson(CLAIMS)}`;
  const signature = signBytes('sha256', Buffer.from(input), shortRsaKey);
  return `${input}.${base64url.encode(signature)}`;
}

/** The same header and payload carrying the signature of a token with another subject. */
async function swappedSignatureToken(): Promise<string> {
  const [header, payload] = (await sign()).split('.');
  const [, , signature] = (await sign({ sub: 'someone-else' })).split('.');
  return `${header}.${payload}.${signature}`;
}

/** A correctly signed JWS whose payload is not a JWT claims set. */
function signedArrayPayload(): Promise<string> {
  return new CompactSign(new TextEncoder().encode('[1]'))
    .setProtectedHeader({ alg: 'ES256', kid: 'ec-1' })
    .sign(ecKey);
}

/** A correctly signed token that marks a private header parameter as critical. */
function criticalExtensionToken(): Promise<string> {
  return new SignJWT(CLAIMS)
    .setProtectedHeader({ alg: 'ES256', kid: 'ec-1', crit: ['tenant'], tenant: 'a' })
    .sign(ecKey, { crit: { tenant: true } });
}

function segments(token: string, start: number, end: number): string {
  return token.split('.').slice(start, end).join('.');
}

/** Fails the test if the message repeats the token or any 12 characters of its signature. */
function expectNoTokenMaterial(message: string, token: string): void {
  expect(message).not.toContain(token);
  for (const part of token.split('.')) {
    if (part.length > 0) expect(message).not.toContain(part);
  }
  const signature = token.split('.')[2] ?? '';
  for (let start = 0; start + 12 <= signature.length; start += 1) {
    expect(message).not.toContain(signature.slice(start, start + 12));
  }
}

type FailureCase = [
  condition: string,
  reason: TokenFailureReason,
  token: () => Promise<string> | string,
  provider?: Partial<JwtProvider>,
];

const MAX_AGE: Partial<JwtProvider> = { maxTokenAgeSeconds: 600 };
const SECRET = new TextEncoder().encode('a-shared-secret-of-32-characters');

describe('verifyJwt', () => {
  it.each<FailureCase>([
    ['whose exp is past by more than the skew', 'token_expired', () => sign({ exp: NOW - 31 })],
    ['whose exp is past by exactly the skew', 'token_expired', () => sign({ exp: NOW - 30 })],
    [
      'whose nbf is ahead by more than the skew',
      'token_not_yet_valid',
      () => sign({ nbf: NOW + 31 }),
    ],
    [
      'whose iat is ahead by more than the skew',
      'token_not_yet_valid',
      () => sign({ iat: NOW + 31 }),
    ],
    [
      'whose iat is ahead by more than the skew while a maximum age is set',
      'token_not_yet_valid',
      () => sign({ iat: NOW + 31 }),
      MAX_AGE,
    ],
    ['older than the maximum age', 'token_expired', () => sign({ iat: NOW - 631 }), MAX_AGE],
    ['without exp', 'token_claims_invalid', () => signWithout('exp')],
    ['whose exp is a string', 'token_claims_invalid', () => sign({ exp: `${NOW + 300}` as never })],
    // Regression: nbf or iat of the wrong type, and iat missing when a maximum age needs it, were
    // reported as token_not_yet_valid, a statement about time that the token never made.
    ['whose nbf is a string', 'token_claims_invalid', () => sign({ nbf: 'yesterday' as never })],
    ['whose iat is a string', 'token_claims_invalid', () => sign({ iat: 'yesterday' as never })],
    [
      'without iat while a maximum age is set',
      'token_claims_invalid',
      () => signWithout('iat'),
      MAX_AGE,
    ],
    ['from another issuer', 'token_issuer_invalid', () => sign({ iss: 'https://evil.example' })],
    ['whose iss adds a trailing slash', 'token_issuer_invalid', () => sign({ iss: `${ISSUER}/` })],
    ['without iss', 'token_claims_invalid', () => signWithout('iss')],
    ['whose audience is another string', 'token_audience_invalid', () => sign({ aud: OTHER_API })],
    [
      'whose audience is an array without ours',
      'token_audience_invalid',
      () => sign({ aud: [OTHER_API, 'https://third-api.example'] }),
    ],
    ['whose audience is an empty array', 'token_audience_invalid', () => sign({ aud: [] })],
    ['without aud', 'token_audience_invalid', () => signWithout('aud')],
    [
      'signed with RS256 while the provider allows ES256 only',
      'token_algorithm_not_allowed',
      () => sign({}, { alg: 'RS256', kid: 'rsa-1' }, rsaKey),
    ],
    ['that is unsecured (alg none)', 'token_algorithm_not_allowed', unsecuredToken],
    [
      'signed with HS256 and a shared secret',
      'token_algorithm_not_allowed',
      () => sign({}, { alg: 'HS256' }, SECRET),
    ],
    [
      'signed with HS256 even when the allow-list names HS256',
      'token_algorithm_not_allowed',
      () => sign({}, { alg: 'HS256' }, SECRET),
      { algorithms: ['ES256', 'HS256'] },
    ],
    [
      'signed with an RSA key shorter than 2048 bits',
      'token_signature_invalid',
      signWithShortRsaKey,
      { algorithms: ['RS256'] },
    ],
    ['whose kid is not in the key set', 'token_key_unknown', () => sign({}, { kid: 'ec-retired' })],
    ['whose payload was changed after signing', 'token_signature_invalid', tamperedToken],
    ['carrying the signature of another token', 'token_signature_invalid', swappedSignatureToken],
    ['that is a garbage string', 'token_malformed', () => 'not-a-jwt'],
    ['with two segments', 'token_malformed', async () => segments(await sign(), 0, 2)],
    ['with four segments', 'token_malformed', async () => `${await sign()}.e30`],
    [
      'whose header is not JSON',
      'token_malformed',
      async () => `${base64url.encode('{alg')}.${segments(await sign(), 1, 3)}`,
    ],
    ['whose payload is a JSON array', 'token_malformed', signedArrayPayload],
    // Regression: an unknown critical header parameter was reported as token_algorithm_not_allowed
    // although the token's alg was allowed; RFC 7515 §4.1.11 makes such a JWS invalid.
    ['that requires a header extension we do not know', 'token_malformed', criticalExtensionToken],
    ['whose scope is a number', 'token_claims_invalid', () => sign({ scope: 42 })],
    ['whose scp array holds a number', 'token_claims_invalid', () => sign({ scp: ['admin', 7] })],
    ['whose sub is not a string', 'token_claims_invalid', () => sign({ sub: 12345 as never })],
    [
      'whose client_id is an object',
      'token_claims_invalid',
      () => sign({ client_id: { id: 'x' } }),
    ],
  ])('denies a token %s with %s', async (_, reason, makeToken, overrides) => {
    const token = await makeToken();

    const outcome = await verifyJwt(token, provider(overrides), NOW);

    expect(outcome).toEqual({ ok: false, reason, message: expect.any(String) });
    if (!outcome.ok) expectNoTokenMaterial(outcome.message, token);
  });

  it.each<[condition: string, token: () => Promise<string>, provider?: Partial<JwtProvider>]>([
    ['that is valid', () => sign()],
    ['that expired less than the skew ago', () => sign({ exp: NOW - 29 })],
    ['whose nbf is ahead by less than the skew', () => sign({ nbf: NOW + 30 })],
    ['whose iat is ahead by less than the skew', () => sign({ iat: NOW + 30 })],
    ['without iat, nbf or sub', () => signWithout('iat', 'nbf', 'sub')],
    ['whose audience is an array containing ours', () => sign({ aud: [OTHER_API, AUDIENCE] })],
    [
      'whose audience is another of the provider audiences',
      () => sign({ aud: OTHER_API }),
      { audiences: [AUDIENCE, OTHER_API] },
    ],
    ['within the maximum age', () => sign({ iat: NOW - 600 }), MAX_AGE],
    [
      'signed with RS256 when the provider allows it',
      () => sign({}, { alg: 'RS256', kid: 'rsa-1' }, rsaKey),
      { algorithms: ['ES256', 'RS256'] },
    ],
    [
      'without kid when one published key fits its alg',
      () => new SignJWT(CLAIMS).setProtectedHeader({ alg: 'ES256' }).sign(ecKey),
    ],
  ])('accepts a token %s', async (_, makeToken, overrides) => {
    const outcome = await verifyJwt(await makeToken(), provider(overrides), NOW);

    expect(outcome.ok).toBe(true);
  });

  it.each<[string, JWTPayload, readonly string[]]>([
    ['no scope claim', {}, []],
    [
      'a space-separated scope string',
      { scope: 'orders:read orders:write' },
      ['orders:read', 'orders:write'],
    ],
    [
      'a scope string with repeated spaces',
      { scope: ' orders:read  admin ' },
      ['orders:read', 'admin'],
    ],
    ['an empty scope string', { scope: '' }, []],
    ['an scp array', { scp: ['orders:read', 'admin'] }, ['orders:read', 'admin']],
    ['an scp string', { scp: 'orders:read admin' }, ['orders:read', 'admin']],
    ['both, where scope wins', { scope: 'admin', scp: ['orders:read'] }, ['admin']],
  ])('reads scopes from %s', async (_, claims, scopes) => {
    const outcome = await verifyJwt(await sign(claims), provider(), NOW);

    expect(outcome.ok && outcome.verified.identity.scopes).toEqual(scopes);
  });

  it('builds the identity from the provider and the claims', async () => {
    const outcome = await verifyJwt(await sign({ scope: 'orders:read' }), provider(), NOW);

    expect(outcome).toEqual({
      ok: true,
      verified: {
        identity: {
          provider: 'corp',
          issuer: ISSUER,
          subject: 'user-1',
          clientId: 'orders-web',
          scopes: ['orders:read'],
          claims: { ...CLAIMS, scope: 'orders:read' },
        },
        expiresAt: NOW + 300,
      },
    });
  });

  it.each<[string, JWTPayload, string | undefined]>([
    ['client_id', { client_id: 'orders-web' }, 'orders-web'],
    ['azp when client_id is absent', { client_id: undefined, azp: 'orders-spa' }, 'orders-spa'],
    ['client_id over azp', { client_id: 'orders-web', azp: 'orders-spa' }, 'orders-web'],
    ['neither', { client_id: undefined }, undefined],
  ])('takes the client id from %s', async (_, claims, clientId) => {
    const outcome = await verifyJwt(await sign(claims), provider(), NOW);

    expect(outcome.ok && outcome.verified.identity.clientId).toBe(clientId);
  });

  it('ends a verified token at its maximum age when that comes before exp', async () => {
    const token = await sign({ iat: NOW - 100, exp: NOW + 3600 });

    const outcome = await verifyJwt(token, provider({ maxTokenAgeSeconds: 600 }), NOW);

    expect(outcome.ok && outcome.verified.expiresAt).toBe(NOW - 100 + 600);
  });

  it('reports provider_unavailable when the key file cannot be read', async () => {
    const missing = new KeySet(
      { kind: 'file', path: join(directory, 'missing.json') },
      { timeoutMs: 1000, cooldownMs: 0, refreshMs: 60_000 },
    );

    const outcome = await verifyJwt(await sign(), provider({ keys: missing }), NOW);

    expect(outcome).toEqual({
      ok: false,
      reason: 'provider_unavailable',
      message: "the provider's keys are not available",
    });
    expect(missing.state).toBe('failed');
  });
});

describe('verifyJwt with a token that names no kid', () => {
  it('tries each key of a rotation that publishes two keys of the same type', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-no-kid-'));
    const previous = await generateKeyPair('ES256');
    const current = await generateKeyPair('ES256');
    const path = join(dir, 'jwks.json');
    await writeFile(
      path,
      JSON.stringify({
        keys: [
          { ...(await exportJWK(previous.publicKey)), kid: 'old', alg: 'ES256' },
          { ...(await exportJWK(current.publicKey)), kid: 'new', alg: 'ES256' },
        ],
      }),
    );
    const rotating = new KeySet(
      { kind: 'file', path },
      { timeoutMs: 1000, cooldownMs: 0, refreshMs: 60_000 },
    );
    await rotating.refresh();
    const signNoKid = (key: CryptoKey) =>
      new SignJWT({ ...CLAIMS }).setProtectedHeader({ alg: 'ES256' }).sign(key);

    const withCurrent = await verifyJwt(
      await signNoKid(current.privateKey),
      provider({ keys: rotating }),
      NOW,
    );
    const withForeign = await verifyJwt(
      await signNoKid((await generateKeyPair('ES256')).privateKey),
      provider({ keys: rotating }),
      NOW,
    );

    expect(withCurrent.ok).toBe(true);
    expect(withForeign).toMatchObject({ ok: false, reason: 'token_signature_invalid' });
    await rm(dir, { recursive: true, force: true });
  });
});

describe('verifyJwt with an RSA signature of the wrong length', () => {
  let rsaDirectory: string;
  let rsaKeys: KeySet;
  let privateKey: KeyObject;

  beforeAll(async () => {
    rsaDirectory = await mkdtemp(join(tmpdir(), 'tollgate-verify-jwt-rsa-'));
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = pair.privateKey;
    const path = join(rsaDirectory, 'jwks.json');
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'rsa-any' };
    await writeFile(path, JSON.stringify({ keys: [jwk] }));
    rsaKeys = new KeySet(
      { kind: 'file', path },
      { timeoutMs: 1000, cooldownMs: 0, refreshMs: 60_000 },
    );
    await rsaKeys.refresh();
  });

  afterAll(() => rm(rsaDirectory, { recursive: true, force: true }));

  /**
   * A PS256 token whose signature starts with a zero byte (one in 256: PSS signatures are
   * randomized, so signing again gives another).
   */
  function signPs256WithLeadingZero(): { input: string; signature: Buffer } {
    const input = `${encodeJson({ alg: 'PS256', kid: 'rsa-any' })}.${encodeJson(CLAIMS)}`;
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const signature = signBytes('sha256', Buffer.from(input), {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
      if (signature[0] === 0) return { input, signature };
    }
    throw new Error('no PSS signature with a leading zero byte in 10,000 attempts');
  }

  it('refuses a PSS signature one leading zero byte short, which OpenSSL would verify', () => {
    const { input, signature } = signPs256WithLeadingZero();
    const rsaProvider = provider({ algorithms: ['PS256'], keys: rsaKeys });

    const whole = verifyJwt(`${input}.${base64url.encode(signature)}`, rsaProvider, NOW);
    const short = verifyJwt(
      `${input}.${base64url.encode(signature.subarray(1))}`,
      rsaProvider,
      NOW,
    );

    expect(whole).toMatchObject({ ok: true });
    expect(short).toMatchObject({ ok: false, reason: 'token_signature_invalid' });
  });
});

describe('verifyJwt with a published RSA key whose exponent is 1', () => {
  it('refuses a "signature" that is only the padded digest, which such a key would verify', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tollgate-verify-jwt-e1-'));
    try {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = { ...publicKey.export({ format: 'jwk' }), e: 'AQ', kid: 'rsa-e1' };
      const path = join(directory, 'jwks.json');
      await writeFile(path, JSON.stringify({ keys: [jwk] }));
      const e1Keys = new KeySet(
        { kind: 'file', path },
        { timeoutMs: 1000, cooldownMs: 0, refreshMs: 60_000 },
      );
      await e1Keys.refresh();
      // With e = 1, s^e mod n = s: the EMSA-PKCS1-v1_5 encoding of the digest is a signature.
      const input = `${encodeJson({ alg: 'RS256', kid: 'rsa-e1' })}.${encodeJson(CLAIMS)}`;
      const digestInfo = Buffer.concat([
        Buffer.from('3031300d060960864801650304020105000420', 'hex'),
        createHash('sha256').update(input).digest(),
      ]);
      const padding = Buffer.alloc(256 - 3 - digestInfo.length, 0xff);
      const forged = Buffer.concat([Buffer.from([0, 1]), padding, Buffer.from([0]), digestInfo]);

      const outcome = verifyJwt(
        `${input}.${base64url.encode(forged)}`,
        provider({ algorithms: ['RS256'], keys: e1Keys }),
        NOW,
      );

      expect(outcome).toMatchObject({ ok: false, reason: 'token_signature_invalid' });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
