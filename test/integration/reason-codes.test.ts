import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASONS } from '../../src/pipeline/reasons.js';
import {
  bodyOf,
  type DecodedCheckResponse,
  deniedStatus,
  type HttpAttributes,
} from '../support/envoy-client.js';
import { startTollgate, type TollgateInstance } from '../support/tollgate-instance.js';

const ISSUER = 'https://idp.reason-codes.example';
const AUDIENCE = 'orders-api';

/**
 * One row per reason code, each reached end to end through gRPC: the list of codes in
 * src/pipeline/reasons.ts and the rows here must stay equal.
 */
describe('every reason code', () => {
  let tollgate: TollgateInstance;
  let hanging: Server;
  let signer: (claims: JWTPayload, header?: Record<string, unknown>) => Promise<string>;
  let rsaSigner: (claims: JWTPayload) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-reasons-'));
    const jwks = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'es', alg: 'ES256', use: 'sig' }],
    };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    signer = (claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'es', ...header })
        .sign(privateKey);
    rsaSigner = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'es' }).sign(rsa.privateKey);

    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const hangingUri = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/jwks`;

    tollgate = await startTollgate(`
startup: { keyWaitMs: 200 }
providers:
  - { name: local, issuer: "${ISSUER}", audiences: [${AUDIENCE}], algorithms: [ES256], jwks: { file: "${join(dir, 'jwks.json')}" } }
  - { name: down, issuer: https://down.example, audiences: [${AUDIENCE}], jwks: { uri: "http://127.0.0.1:1/jwks", timeoutMs: 500 } }
  - { name: hang, issuer: https://hang.example, audiences: [${AUDIENCE}], jwks: { uri: "${hangingUri}", timeoutMs: 10000 } }
rules:
  - { name: public, match: { paths: [/public] }, action: allow }
  - { name: admin, match: { paths: [/admin/**] }, action: deny }
  - { name: broken, match: { paths: [/broken] }, action: allow }
  - { name: api, match: { paths: [/api/**] }, action: allow, require: { providers: [local], scopes: [read] } }
  - { name: down, match: { paths: [/down] }, action: allow, require: { providers: [down] } }
  - { name: hang, match: { paths: [/hang] }, action: allow, require: { providers: [hang] } }
`);
    // A matcher that throws stands for a bug inside tollgate: no real part can be made to show one.
    const broken = tollgate.server.decider.policy.rules.find((rule) => rule.name === 'broken');
    Object.assign(broken as object, {
      paths: [
        {
          source: '/broken',
          matches: (segments: readonly string[]) => {
            if (segments[0] === 'broken') throw new Error('matcher bug');
            return false;
          },
        },
      ],
    });
  });

  afterAll(async () => {
    await tollgate?.stop();
    hanging?.closeAllConnections();
    hanging?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const valid = (extra: JWTPayload = {}): JWTPayload => ({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    scope: 'read',
    iat: now(),
    exp: now() + 300,
    ...extra,
  });
  const bearer = async (
    path: string,
    token: Promise<string> | string,
  ): Promise<HttpAttributes> => ({
    path,
    headers: { authorization: `Bearer ${await token}` },
  });
  const withoutExp = () => {
    const claims = valid();
    delete claims.exp;
    return claims;
  };

  const rows: [
    string,
    () => Promise<HttpAttributes | { raw: unknown }>,
    number | 'allow',
    number?,
  ][] = [
    ['allowed', () => bearer('/api/orders', signer(valid())), 'allow'],
    ['rule_denied', async () => ({ path: '/admin/users' }), 403],
    ['default_denied', async () => ({ path: '/elsewhere' }), 403],
    ['credential_missing', async () => ({ path: '/api/orders' }), 401],
    [
      'credential_malformed',
      async () => ({ path: '/api/orders', headers: { authorization: 'Basic YTpi' } }),
      400,
    ],
    ['token_malformed', () => bearer('/api/orders', 'abc.def'), 401],
    ['token_algorithm_not_allowed', () => bearer('/api/orders', rsaSigner(valid())), 401],
    ['token_key_unknown', () => bearer('/api/orders', signer(valid(), { kid: 'other' })), 401],
    [
      'token_signature_invalid',
      async () => bearer('/api/orders', tamper(await signer(valid()))),
      401,
    ],
    [
      'token_issuer_invalid',
      () => bearer('/api/orders', signer(valid({ iss: 'https://other.example' }))),
      401,
    ],
    [
      'token_audience_invalid',
      () => bearer('/api/orders', signer(valid({ aud: 'billing-api' }))),
      401,
    ],
    ['token_expired', () => bearer('/api/orders', signer(valid({ exp: now() - 3600 }))), 401],
    ['token_not_yet_valid', () => bearer('/api/orders', signer(valid({ nbf: now() + 3600 }))), 401],
    ['token_claims_invalid', () => bearer('/api/orders', signer(withoutExp())), 401],
    ['scope_missing', () => bearer('/api/orders', signer(valid({ scope: 'write' }))), 403],
    ['path_invalid', async () => ({ path: '/api/a%2Fb' }), 400],
    ['request_invalid', async () => ({ raw: { attributes: {} } }), 400],
    [
      'provider_unavailable',
      () => bearer('/down', signer(valid({ iss: 'https://down.example' }))),
      503,
    ],
    [
      'deadline_exceeded',
      () => bearer('/hang', signer(valid({ iss: 'https://hang.example' }))),
      503,
      200,
    ],
    ['internal_error', async () => ({ path: '/broken' }), 503],
  ];

  it('has a row for every reason code', () => {
    expect(rows.map(([reason]) => reason).sort()).toEqual(Object.keys(REASONS).sort());
  });

  it.each(rows)('answers %s with its status', async (reason, request, status, deadlineMs) => {
    const attributes = await request();
    const options = deadlineMs === undefined ? {} : { deadlineMs };
    const response: DecodedCheckResponse =
      'raw' in attributes
        ? await tollgate.client.checkRaw(attributes.raw, options)
        : await tollgate.client.check(attributes, options);

    if (status === 'allow') {
      expect(response.denied_response).toBeUndefined();
      expect(response.status.code ?? 0).toBe(0);
    } else {
      expect(deniedStatus(response)).toBe(status);
      expect(bodyOf(response).error).toBe(reason);
    }
    const line = tollgate.logs.findLast((entry) => entry.msg === 'decision');
    expect(line?.reason).toBe(reason);
  });
});

/** Flips one character in the middle of the signature, so it no longer matches. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const middle = Math.floor(signature.length / 2);
  const flipped = signature[middle] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, middle)}${flipped}${signature.slice(middle + 1)}`;
}
