import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/identity/authenticate.js';
import type { CredentialSource } from '../../src/identity/credential-source.js';
import type { JwtProvider } from '../../src/identity/jwt-provider.js';
import { KeySet } from '../../src/identity/key-set.js';
import { TokenCache } from '../../src/identity/token-cache.js';
import {
  DEFAULT_RESOURCES,
  startIdentityProvider,
  type TestIdentityProvider,
} from '../support/identity-provider.js';

const ORDERS_API = DEFAULT_RESOURCES[0] as string;
const SKEW_SECONDS = 30;
const BEARER: CredentialSource = { kind: 'header', header: 'authorization', scheme: 'Bearer' };
const COOKIE: CredentialSource = { kind: 'cookie', cookie: 'access_token' };

let corp: TestIdentityProvider;
let partner: TestIdentityProvider;

beforeAll(async () => {
  [corp, partner] = await Promise.all([startIdentityProvider(), startIdentityProvider()]);
});
afterAll(() => Promise.all([corp.close(), partner.close()]));

/** A provider reading the given places, with a key set of its own that nothing has loaded yet. */
function providerOf(
  name: string,
  idp: TestIdentityProvider,
  overrides: Partial<JwtProvider> = {},
): JwtProvider {
  return {
    name,
    issuer: idp.issuer,
    audiences: [ORDERS_API],
    algorithms: ['ES256'],
    clockSkewSeconds: SKEW_SECONDS,
    maxTokenAgeSeconds: undefined,
    credentials: [BEARER, COOKIE],
    claimHeaders: [],
    keys: new KeySet(
      { kind: 'uri', uri: idp.jwksUri },
      { timeoutMs: 2000, cooldownMs: 30_000, refreshMs: 300_000 },
    ),
    ...overrides,
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Authenticates a token until the cache holds it: the cache admits a token on its second
 * verification (see TokenCache), so twice. Returns the second outcome.
 */
async function authenticateIntoCache(
  token: string,
  providers: readonly JwtProvider[],
  cache: TokenCache,
  now: number,
) {
  await authenticate(bearer(token), providers, cache, now);
  const outcome = await authenticate(bearer(token), providers, cache, now);
  expect(cache.has(token)).toBe(true);
  return outcome;
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

describe('authenticate', () => {
  it('denies a request without any credential as credential_missing', async () => {
    const outcome = await authenticate(
      { cookie: 'theme=dark' },
      [providerOf('corp', corp)],
      new TokenCache(10),
      nowSeconds(),
    );

    expect(outcome).toEqual({
      ok: false,
      reason: 'credential_missing',
      message: 'a bearer token is required',
    });
  });

  it.each<[condition: string, headers: (token: string, other: string) => Record<string, string>]>([
    [
      'a header and a cookie carry different tokens',
      (token, other) => ({ ...bearer(token), cookie: `access_token=${other}` }),
    ],
    [
      'two authorization headers were joined by Envoy',
      (token, other) => ({ authorization: `Bearer ${token},Bearer ${other}` }),
    ],
    [
      'two cookies carry different tokens',
      (token, other) => ({ cookie: `access_token=${token}; access_token=${other}` }),
    ],
    [
      'the authorization header uses another scheme',
      (token) => ({ authorization: `Basic ${token}` }),
    ],
    [
      'the cookie is empty while the header holds a token',
      (token) => ({ ...bearer(token), cookie: 'access_token=' }),
    ],
  ])('denies as credential_malformed when %s', async (_, headers) => {
    const token = await corp.issueAccessToken();
    const other = await corp.issueAccessToken({ scope: 'admin' });

    const outcome = await authenticate(
      headers(token, other),
      [providerOf('corp', corp)],
      new TokenCache(10),
      nowSeconds(),
    );

    expect(outcome).toMatchObject({ ok: false, reason: 'credential_malformed' });
    const message = outcome.ok ? '' : outcome.message;
    expect(message).not.toContain(token);
    expect(message).not.toContain(other);
  });

  it('accepts the same token sent in both the header and the cookie', async () => {
    const token = await corp.issueAccessToken({ scope: 'orders:read' });

    const outcome = await authenticate(
      { ...bearer(token), cookie: `theme=dark; access_token=${token}` },
      [providerOf('corp', corp)],
      new TokenCache(10),
      nowSeconds(),
    );

    expect(outcome).toMatchObject({
      ok: true,
      identity: {
        provider: 'corp',
        issuer: corp.issuer,
        subject: 'orders-service',
        clientId: 'orders-service',
        scopes: ['orders:read'],
      },
    });
  });

  it('says whether the identity is cached: not on first use, then on every use', async () => {
    const token = await corp.issueAccessToken({ scope: 'orders:read' });
    const providers = [providerOf('corp', corp)];
    const cache = new TokenCache(10);

    const outcomes = [];
    for (let use = 0; use < 3; use++) {
      outcomes.push(await authenticate(bearer(token), providers, cache, nowSeconds()));
    }

    expect(outcomes.map((outcome) => outcome.ok && outcome.cached)).toEqual([false, true, true]);
    const [, second, third] = outcomes;
    expect(second?.ok && third?.ok && second.identity === third.identity).toBe(true);
  });

  it('tries only the provider that reads the place the token was found in', async () => {
    const token = await partner.issueAccessToken();
    const providers = [
      providerOf('corp', corp, { credentials: [BEARER] }),
      providerOf('partner', partner, { credentials: [COOKIE] }),
    ];

    const outcome = await authenticate(
      { cookie: `access_token=${token}` },
      providers,
      new TokenCache(10),
      nowSeconds(),
    );

    expect(outcome).toMatchObject({ ok: true, identity: { provider: 'partner' } });
  });

  it.each([
    ['corp', () => corp],
    ['partner', () => partner],
  ])('lets the token iss pick the %s provider among two', async (name, idp) => {
    const token = await idp().issueAccessToken();
    const fetchesBefore = { corp: corp.jwksRequests, partner: partner.jwksRequests };
    const providers = [providerOf('corp', corp), providerOf('partner', partner)];

    const outcome = await authenticate(bearer(token), providers, new TokenCache(10), nowSeconds());

    expect(outcome).toMatchObject({ ok: true, identity: { provider: name, issuer: idp().issuer } });
    // Only the chosen provider's key set was asked for keys.
    expect(corp.jwksRequests - fetchesBefore.corp).toBe(name === 'corp' ? 1 : 0);
    expect(partner.jwksRequests - fetchesBefore.partner).toBe(name === 'partner' ? 1 : 0);
  });

  it.each([
    ['two providers', () => [providerOf('corp', corp), providerOf('partner', partner)]],
    ['one provider', () => [providerOf('corp', corp)]],
  ])(
    'denies as token_issuer_invalid a token whose iss matches none of %s',
    async (_, providers) => {
      const now = nowSeconds();
      const token = await corp.signToken({
        iss: 'https://unknown-idp.example',
        aud: ORDERS_API,
        sub: 'intruder',
        iat: now,
        exp: now + 300,
      });

      const outcome = await authenticate(bearer(token), providers(), new TokenCache(10), now);

      expect(outcome).toMatchObject({ ok: false, reason: 'token_issuer_invalid' });
    },
  );

  // Regression: with one accepted provider the iss was not read before the signature, so another
  // issuer's token was denied as token_key_unknown and made the key set fetch for its kid, while
  // the same token at a rule accepting two providers was token_issuer_invalid.
  it('denies a token of another identity provider as token_issuer_invalid without fetching keys', async () => {
    const token = await partner.issueAccessToken();
    const provider = providerOf('corp', corp, {
      keys: new KeySet(
        { kind: 'uri', uri: corp.jwksUri },
        { timeoutMs: 2000, cooldownMs: 0, refreshMs: 300_000 },
      ),
    });
    await provider.keys.refresh();
    const fetches = corp.jwksRequests;

    const outcome = await authenticate(bearer(token), [provider], new TokenCache(10), nowSeconds());

    expect(outcome).toEqual({
      ok: false,
      reason: 'token_issuer_invalid',
      message: 'token iss is not accepted',
    });
    expect(corp.jwksRequests).toBe(fetches);
  });

  it('denies as token_malformed a token whose iss cannot be read to pick a provider', async () => {
    const providers = [providerOf('corp', corp), providerOf('partner', partner)];

    const outcome = await authenticate(
      bearer('not.a.jwt'),
      providers,
      new TokenCache(10),
      nowSeconds(),
    );

    expect(outcome).toEqual({
      ok: false,
      reason: 'token_malformed',
      message: 'token is not a well-formed JWT',
    });
  });

  it('answers a never-seen token with a value, not a promise, once the keys are loaded', async () => {
    const provider = providerOf('corp', corp);
    await provider.keys.refresh();
    const token = await corp.issueAccessToken({ scope: 'orders:read' });
    const cache = new TokenCache(10);

    const outcome = authenticate(bearer(token), [provider], cache, nowSeconds());

    expect(outcome).not.toBeInstanceOf(Promise);
    expect(outcome).toMatchObject({
      ok: true,
      identity: { provider: 'corp', scopes: ['orders:read'] },
    });
  });

  it('caches a token on its second verification, not its first', async () => {
    const provider = providerOf('corp', corp);
    await provider.keys.refresh();
    const token = await corp.issueAccessToken({ scope: 'orders:read' });
    const cache = new TokenCache(10);

    authenticate(bearer(token), [provider], cache, nowSeconds());
    const sizeAfterFirst = cache.size;
    authenticate(bearer(token), [provider], cache, nowSeconds());

    expect(sizeAfterFirst).toBe(0);
    expect(cache.size).toBe(1);
  });

  it('answers with a promise when the keys have to be fetched first', async () => {
    const provider = providerOf('corp', corp);
    const token = await corp.issueAccessToken();

    const outcome = authenticate(bearer(token), [provider], new TokenCache(10), nowSeconds());

    expect(outcome).toBeInstanceOf(Promise);
    await expect(outcome).resolves.toMatchObject({ ok: true, identity: { provider: 'corp' } });
  });

  it('reuses a cached verification without asking the key set again', async () => {
    const token = await corp.issueAccessToken({ scope: 'orders:read' });
    const provider = providerOf('corp', corp);
    const cache = new TokenCache(10);
    const first = await authenticateIntoCache(token, [provider], cache, nowSeconds());
    // Rotate so the signing key is gone: only the cache can still vouch for the token.
    await corp.rotateKeys({ dropOld: true });
    await provider.keys.refresh();
    const fetches = corp.jwksRequests;

    const second = await authenticate(bearer(token), [provider], cache, nowSeconds());
    const uncached = await authenticate(
      bearer(token),
      [provider],
      new TokenCache(10),
      nowSeconds(),
    );

    expect(first.ok).toBe(true);
    expect(second).toEqual(first);
    expect(corp.jwksRequests).toBe(fetches);
    expect(uncached).toMatchObject({ ok: false, reason: 'token_key_unknown' });
  });

  it('still refuses two tokens in one header once one of them is cached', async () => {
    const token = await corp.issueAccessToken({ scope: 'orders:read' });
    const provider = providerOf('corp', corp);
    const cache = new TokenCache(10);
    const first = await authenticateIntoCache(token, [provider], cache, nowSeconds());

    // Only a cached token skips the syntax check; "a,b" is never cached.
    const joined = await authenticate(bearer(`${token},${token}`), [provider], cache, nowSeconds());

    expect(first.ok).toBe(true);
    expect(joined).toMatchObject({ ok: false, reason: 'credential_malformed' });
  });

  it('verifies every time with a cache of size 0', async () => {
    const token = await corp.issueAccessToken();
    const provider = providerOf('corp', corp);
    const cache = new TokenCache(0);
    const first = await authenticate(bearer(token), [provider], cache, nowSeconds());
    await corp.rotateKeys({ dropOld: true });
    await provider.keys.refresh();

    const second = await authenticate(bearer(token), [provider], cache, nowSeconds());

    expect(first.ok).toBe(true);
    expect(cache.size).toBe(0);
    expect(second).toMatchObject({ ok: false, reason: 'token_key_unknown' });
  });

  it.each([
    ['one second before exp plus the skew', -1, { ok: true }],
    ['at exp plus the skew', 0, { ok: false, reason: 'token_expired' }],
    ['an hour after exp', 3600, { ok: false, reason: 'token_expired' }],
  ])('answers a cached token %s as the verifier would', async (_, offset, expected) => {
    const token = await corp.issueAccessToken();
    const exp = decodeJwt(token).exp as number;
    const provider = providerOf('corp', corp);
    const cache = new TokenCache(10);
    await authenticateIntoCache(token, [provider], cache, nowSeconds());
    const later = exp + SKEW_SECONDS + offset;

    const cached = await authenticate(bearer(token), [provider], cache, later);
    const fresh = await authenticate(bearer(token), [provider], new TokenCache(10), later);

    expect(cache.size).toBe(1);
    expect(cached).toMatchObject(expected);
    expect(fresh).toMatchObject(expected);
  });

  // Regression: the cache kept a token until exp, so a provider's maximum token age held on the
  // first request only and every later request of the same token was allowed.
  it('denies a cached token that has outlived the maximum token age', async () => {
    const token = await corp.issueAccessToken();
    const iat = decodeJwt(token).iat as number;
    const provider = providerOf('corp', corp, { maxTokenAgeSeconds: 60 });
    const cache = new TokenCache(10);
    const first = await authenticateIntoCache(token, [provider], cache, iat);
    const later = iat + 60 + SKEW_SECONDS + 1;

    const cached = await authenticate(bearer(token), [provider], cache, later);
    const fresh = await authenticate(bearer(token), [provider], new TokenCache(10), later);

    expect(first.ok).toBe(true);
    expect(cached).toMatchObject({ ok: false, reason: 'token_expired' });
    expect(fresh).toMatchObject({ ok: false, reason: 'token_expired' });
  });

  it('verifies a cached token again for a rule that accepts another provider only', async () => {
    const token = await corp.issueAccessToken();
    const cache = new TokenCache(10);
    await authenticateIntoCache(token, [providerOf('corp', corp)], cache, nowSeconds());

    const outcome = await authenticate(
      bearer(token),
      [providerOf('partner', partner)],
      cache,
      nowSeconds(),
    );

    expect(outcome).toMatchObject({ ok: false, reason: 'token_issuer_invalid' });
  });

  it('does not cache a token that failed verification', async () => {
    const token = await partner.issueAccessToken();
    const cache = new TokenCache(10);

    const outcome = await authenticate(
      bearer(token),
      [providerOf('corp', corp)],
      cache,
      nowSeconds(),
    );

    expect(outcome.ok).toBe(false);
    expect(cache.size).toBe(0);
  });
});
