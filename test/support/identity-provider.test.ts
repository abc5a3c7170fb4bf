import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RESOURCES,
  signForeignToken,
  startIdentityProvider,
  type TestIdentityProvider,
} from './identity-provider.js';

const ORDERS_API = DEFAULT_RESOURCES[0] as string;
const OTHER_API = DEFAULT_RESOURCES[1] as string;

/** A fresh key set per call, refetching at once on an unknown kid, as a verifier would. */
function remoteKeys(idp: TestIdentityProvider) {
  return createRemoteJWKSet(new URL(idp.jwksUri), { cooldownDuration: 0 });
}

describe('startIdentityProvider', () => {
  let idp: TestIdentityProvider;

  beforeAll(async () => {
    idp = await startIdentityProvider({ accessTokenTtlSeconds: 120 });
  });
  afterAll(() => idp.close());

  it('serves a discovery document naming its issuer and jwks_uri', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    const discovery = (await response.json()) as Record<string, unknown>;

    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(discovery.issuer).toBe(idp.issuer);
    expect(discovery.jwks_uri).toBe(idp.jwksUri);
    expect(discovery.grant_types_supported).toContain('client_credentials');
  });

  it('issues an RFC 9068 access token that verifies against its JWKS', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });

    const { payload, protectedHeader } = await jwtVerify(token, remoteKeys(idp), {
      issuer: idp.issuer,
      audience: ORDERS_API,
      typ: 'at+jwt',
    });

    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: idp.currentKid });
    expect(payload).toMatchObject({
      iss: idp.issuer,
      aud: ORDERS_API,
      scope: 'orders:read',
      client_id: 'orders-service',
      sub: 'orders-service',
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect((payload.exp as number) - (payload.iat as number)).toBe(120);
  });

  it('defaults the audience to the first resource when none is requested', async () => {
    const token = await idp.issueAccessToken({ scope: 'admin' });

    const { payload } = await jwtVerify(token, remoteKeys(idp));

    expect(payload.aud).toBe(ORDERS_API);
    expect(payload.scope).toBe('admin');
  });

  it('issues for another known resource and a client_secret_post client', async () => {
    const token = await idp.issueAccessToken({
      scope: 'orders:read',
      resource: OTHER_API,
      clientId: 'reporting-job',
    });

    const { payload } = await jwtVerify(token, remoteKeys(idp), { audience: OTHER_API });

    expect(payload.client_id).toBe('reporting-job');
  });

  it.each([
    ['a resource that is not an absolute URI', { resource: 'orders-api' }, /invalid_target/],
    ['an unknown resource', { resource: 'https://unknown.example' }, /invalid_target/],
    [
      'a scope the client is not registered for',
      { clientId: 'reporting-job', scope: 'admin' },
      /invalid_scope/,
    ],
    ['an unknown client', { clientId: 'nobody' }, /unknown clientId/],
  ])('refuses %s', async (_name, opts, message) => {
    await expect(idp.issueAccessToken(opts)).rejects.toThrow(message);
  });

  it('signs arbitrary claims with its current key, adding none', async () => {
    const claims = { iss: idp.issuer, aud: ORDERS_API, sub: 'svc' };

    const token = await idp.signToken(claims);
    const { payload, protectedHeader } = await jwtVerify(token, remoteKeys(idp));

    expect(payload).toEqual(claims);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: idp.currentKid, typ: 'at+jwt' });
  });

  it('signs an expired token that fails only on its expiry', async () => {
    const token = await idp.signToken({ sub: 'svc', exp: Math.floor(Date.now() / 1000) - 60 });

    await expect(jwtVerify(token, remoteKeys(idp))).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
  });

  it('lets signToken override header fields', async () => {
    const token = await idp.signToken({ sub: 'svc' }, { header: { typ: 'JWT' } });

    expect(decodeProtectedHeader(token).typ).toBe('JWT');
    await expect(jwtVerify(token, remoteKeys(idp))).resolves.toBeDefined();
  });
});

describe('signForeignToken', () => {
  let idp: TestIdentityProvider;

  beforeAll(async () => {
    idp = await startIdentityProvider();
  });
  afterAll(() => idp.close());

  it('signs with a key the provider does not publish', async () => {
    const token = await signForeignToken({ sub: 'svc' }, { kid: 'foreign-1' });

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'foreign-1', typ: 'at+jwt' });
    await expect(jwtVerify(token, remoteKeys(idp))).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('fails signature verification when it borrows the provider kid', async () => {
    const token = await signForeignToken({ sub: 'svc' }, { kid: idp.currentKid, typ: 'JWT' });

    expect(decodeProtectedHeader(token).typ).toBe('JWT');
    await expect(jwtVerify(token, remoteKeys(idp))).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  it('signs RS256 when asked', async () => {
    const token = await signForeignToken({ sub: 'svc' }, { alg: 'RS256' });

    expect(decodeProtectedHeader(token).alg).toBe('RS256');
  });
});

describe('rotateKeys', () => {
  let idp: TestIdentityProvider;

  beforeAll(async () => {
    idp = await startIdentityProvider({ alg: 'RS256' });
  });
  afterAll(() => idp.close());

  it('signs with a new kid on the same issuer and keeps the old key published', async () => {
    const keys = remoteKeys(idp);
    const before = await idp.issueAccessToken({ scope: 'orders:read' });
    await jwtVerify(before, keys);
    const fetchesBefore = idp.jwksRequests;
    const oldKid = idp.currentKid;
    const issuer = idp.issuer;

    await idp.rotateKeys();
    const after = await idp.issueAccessToken({ scope: 'orders:read' });
    const { payload, protectedHeader } = await jwtVerify(after, keys);

    expect(idp.issuer).toBe(issuer);
    expect(payload.iss).toBe(issuer);
    expect(protectedHeader.kid).toBe(idp.currentKid);
    expect(protectedHeader.kid).not.toBe(oldKid);
    expect(protectedHeader.alg).toBe('RS256');
    expect(idp.jwksRequests).toBe(fetchesBefore + 1);
    await expect(jwtVerify(before, remoteKeys(idp))).resolves.toBeDefined();
  });

  it('changes algorithm when asked', async () => {
    await idp.rotateKeys({ alg: 'ES256' });

    const token = await idp.issueAccessToken({});

    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: idp.currentKid });
    await expect(jwtVerify(token, remoteKeys(idp))).resolves.toBeDefined();
  });

  it('stops publishing earlier keys with dropOld', async () => {
    const before = await idp.issueAccessToken({});

    await idp.rotateKeys({ dropOld: true });
    const after = await idp.issueAccessToken({});
    const jwks = (await (await fetch(idp.jwksUri)).json()) as { keys: { kid: string }[] };

    expect(jwks.keys.map((key) => key.kid)).toEqual([idp.currentKid]);
    await expect(jwtVerify(after, remoteKeys(idp))).resolves.toBeDefined();
    await expect(jwtVerify(before, remoteKeys(idp))).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });
});

describe('close', () => {
  it('stops answering', async () => {
    const idp = await startIdentityProvider();
    await fetch(idp.jwksUri);

    await idp.close();

    await expect(fetch(idp.jwksUri)).rejects.toThrow();
  });
});
