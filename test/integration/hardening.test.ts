/**
 * Regressions from the security review, end to end through gRPC: each request here once reached
 * an allow (or the wrong rule) that an upstream would have read differently.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bodyOf,
  type DecodedCheckResponse,
  deniedStatus,
  metadataOf,
} from '../support/envoy-client.js';
import { startTollgate, type TollgateInstance } from '../support/tollgate-instance.js';

const ISSUER = 'https://idp.hardening.example';
const AUDIENCE = 'orders-api';

function configFor(jwksFile: string, paths = ''): string {
  return `
${paths}
providers:
  - name: local
    issuer: "${ISSUER}"
    audiences: [${AUDIENCE}]
    algorithms: [ES256]
    jwks: { file: "${jwksFile}" }
    credentials: [{ cookie: access_token }]
rules:
  - { name: static, match: { paths: [/static/**] }, action: allow }
  - { name: admin, match: { paths: [/admin/**] }, action: deny }
  - { name: tenants, match: { hosts: ["*.example.com"], paths: [/tenant/**] }, action: allow }
  - { name: orders, match: { paths: [/orders/**] }, action: allow, require: { providers: [local] } }
defaultAction: deny
`;
}

function expectAllowed(response: DecodedCheckResponse): void {
  expect(response.denied_response).toBeUndefined();
  expect(response.status.code ?? 0).toBe(0);
}

function expectDenied(response: DecodedCheckResponse, status: number, reason: string): void {
  expect(deniedStatus(response)).toBe(status);
  expect(bodyOf(response).error).toBe(reason);
}

describe('hardening against the security review findings', () => {
  let tollgate: TollgateInstance;
  let keepingSemicolons: TollgateInstance;
  let token: string;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-hardening-'));
    const jwksFile = join(dir, 'jwks.json');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const nowSeconds = Math.floor(Date.now() / 1000);
    token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + 300)
      .sign(privateKey);

    tollgate = await startTollgate(configFor(jwksFile));
    keepingSemicolons = await startTollgate(configFor(jwksFile, 'paths: { semicolons: keep }'));
  });

  afterAll(async () => {
    await tollgate?.stop();
    await keepingSemicolons?.stop();
  });

  it('allows the public /static/** rule and denies /admin/** as configured', async () => {
    expectAllowed(await tollgate.client.check({ path: '/static/app.js' }));
    expectDenied(await tollgate.client.check({ path: '/admin/users' }), 403, 'rule_denied');
  });

  it.each([
    '/static/..;/admin/users',
    '/static/%2e%2e;/admin/users',
    '/static/..%3b/admin/users',
    '/static/..%3B/admin/users',
  ])('refuses the path parameter bypass %s with 400 path_invalid', async (path) => {
    const response = await tollgate.client.check({ path });

    expectDenied(response, 400, 'path_invalid');
    expect(bodyOf(response).message).toBe('semicolon in path');
  });

  it('lets a path parameter through under /static/** with paths.semicolons: keep, as before', async () => {
    expectAllowed(await keepingSemicolons.client.check({ path: '/static/..;/admin/users' }));
  });

  it('still accepts a semicolon in the query', async () => {
    expectAllowed(await tollgate.client.check({ path: '/static/app.js?a=1;b=2' }));
  });

  it.each(['/static/%00', '/static/a%0A', '/static/%0d%0a', '/static/%7F'])(
    'refuses the encoded control character in %s with 400 path_invalid',
    async (path) => {
      const response = await tollgate.client.check({ path });

      expectDenied(response, 400, 'path_invalid');
      expect(bodyOf(response).message).toBe('encoded control character in path');
    },
  );

  it('allows a host under *.example.com', async () => {
    expectAllowed(await tollgate.client.check({ host: 'a.example.com:8443', path: '/tenant/1' }));
  });

  it.each([
    'evil.com/.example.com',
    'a b.example.com',
    '..example.com',
    'x@y.example.com',
    'a.example.com:abc',
    'a.example.com:99999',
  ])('refuses the host %j with 400 request_invalid', async (host) => {
    const response = await tollgate.client.check({ host, path: '/tenant/1' });

    expectDenied(response, 400, 'request_invalid');
    expect(bodyOf(response).message).toBe('invalid host');
  });

  it('refuses a host in raw headers the same way', async () => {
    const response = await tollgate.client.check({
      host: '',
      path: '/tenant/1',
      rawHeaders: [
        [':authority', 'x@y.example.com'],
        [':method', 'GET'],
      ],
    });

    expectDenied(response, 400, 'request_invalid');
  });

  it('finds the token in a second Cookie header sent as raw headers', async () => {
    const response = await tollgate.client.check({
      path: '/orders/42',
      rawHeaders: [
        ['cookie', 'theme=dark'],
        ['cookie', `access_token=${token}`],
      ],
    });

    expectAllowed(response);
    expect(metadataOf(response, 'subject')).toBe('alice');
  });

  it('refuses two different tokens in two Cookie headers', async () => {
    const response = await tollgate.client.check({
      path: '/orders/42',
      rawHeaders: [
        ['cookie', `access_token=${token}`],
        ['cookie', 'access_token=eyJhbGciOiJFUzI1NiJ9.e30.c2ln'],
      ],
    });

    expectDenied(response, 400, 'credential_malformed');
    expect(bodyOf(response).message).toBe('request carries more than one access_token cookie');
  });

  it('replaces an oversized x-request-id with a UUID in the metadata and the decision line', async () => {
    const id = `req-${'x'.repeat(10_000)}`;

    const response = await tollgate.client.check({
      path: '/static/app.js',
      headers: { 'x-request-id': id },
    });

    expectAllowed(response);
    expect(metadataOf(response, 'decision_id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = tollgate.logs.findLast((entry) => entry.msg === 'decision');
    expect(line?.decision_id).toBe(metadataOf(response, 'decision_id'));
  });
});
