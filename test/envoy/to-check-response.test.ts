import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { CheckResponseEncoder } from '../../src/envoy/response-encoder.js';
import { DECISION_ID_FIELD, toCheckResponse } from '../../src/envoy/to-check-response.js';
import { TokenCache } from '../../src/identity/token-cache.js';
import { Decider } from '../../src/pipeline/decide.js';
import type { Allow, Decision, Deny, Identity } from '../../src/pipeline/decision.js';
import { decodeCheckResponse } from '../support/decode-check-response.js';
import { encodeWithWriter } from '../support/reference-encoding.js';

const IDENTITY: Identity = {
  provider: 'corp',
  issuer: 'https://idp.example',
  subject: 'alice',
  clientId: 'web',
  scopes: ['orders:read', 'profile'],
  claims: {},
};

const ALLOW: Allow = {
  allow: true,
  reason: 'allowed',
  rule: 'read-orders',
  identity: IDENTITY,
  setHeaders: [{ name: 'x-auth-subject', value: 'alice' }],
  removeHeaders: ['x-auth-client-id'],
};

function denial(status: Deny['status'], overrides: Partial<Deny> = {}): Deny {
  return {
    allow: false,
    reason: 'scope_missing',
    status,
    message: 'token lacks a required scope',
    rule: 'read-orders',
    challenge: undefined,
    identity: undefined,
    ...overrides,
  };
}

const OVERWRITE = 2;

describe('toCheckResponse', () => {
  it('answers an allow with gRPC OK, the headers to set and the headers to remove', () => {
    const response = toCheckResponse(ALLOW);

    expect(response.status).toEqual({ code: 0 });
    expect(response.denied_response).toBeUndefined();
    expect(response.ok_response).toEqual({
      headers: [{ header: { key: 'x-auth-subject', value: 'alice' }, append_action: OVERWRITE }],
      headers_to_remove: ['x-auth-client-id'],
    });
  });

  it('describes an allow and its identity in the dynamic metadata', () => {
    const { dynamic_metadata: metadata } = toCheckResponse(ALLOW);

    expect(metadata.fields).toEqual({
      outcome: { stringValue: 'allow' },
      reason: { stringValue: 'allowed' },
      rule: { stringValue: 'read-orders' },
      provider: { stringValue: 'corp' },
      issuer: { stringValue: 'https://idp.example' },
      subject: { stringValue: 'alice' },
      client_id: { stringValue: 'web' },
      scopes: {
        listValue: { values: [{ stringValue: 'orders:read' }, { stringValue: 'profile' }] },
      },
    });
  });

  it.each<[status: Deny['status'], grpcCode: number]>([
    [400, 3],
    [401, 16],
    [403, 7],
    [503, 14],
  ])('answers a %i denial as an ordinary response with gRPC code %i', (status, grpcCode) => {
    const response = toCheckResponse(denial(status));

    expect(response.ok_response).toBeUndefined();
    expect(response.status).toEqual({ code: grpcCode, message: 'scope_missing' });
    expect(response.denied_response?.status).toEqual({ code: status });
  });

  it('writes a denial body as JSON with the reason and the message, never cached', () => {
    const response = toCheckResponse(denial(403));

    expect(JSON.parse(response.denied_response?.body ?? '')).toEqual({
      error: 'scope_missing',
      message: 'token lacks a required scope',
    });
    expect(response.denied_response?.headers).toEqual([
      { header: { key: 'content-type', value: 'application/json' }, append_action: OVERWRITE },
      { header: { key: 'cache-control', value: 'no-store' }, append_action: OVERWRITE },
    ]);
  });

  it('adds www-authenticate to a denial that carries a challenge', () => {
    const challenge = 'Bearer realm="tollgate", error="insufficient_scope", scope="orders:read"';

    const response = toCheckResponse(denial(403, { challenge }));

    expect(response.denied_response?.headers).toContainEqual({
      header: { key: 'www-authenticate', value: challenge },
      append_action: OVERWRITE,
    });
  });

  it('leaves rule and identity out of the metadata of a denial that has neither', () => {
    const { dynamic_metadata: metadata } = toCheckResponse(denial(400, { rule: undefined }));

    expect(metadata.fields).toEqual({
      outcome: { stringValue: 'deny' },
      reason: { stringValue: 'scope_missing' },
    });
  });

  it('keeps the decision id out of the metadata encoded once per Decision', () => {
    const { dynamic_metadata: metadata } = toCheckResponse(denial(403));

    expect(Object.keys(metadata.fields)).not.toContain(DECISION_ID_FIELD);
  });
});

/**
 * A lone surrogate has no UTF-8 encoding; encoded naively it becomes ED A0..BF xx, bytes that
 * never appear in valid UTF-8. Envoy's C++ protobuf parser rejects a response holding them, and
 * with `failure_mode_allow: true` that turns a denial into an allow.
 */
function hasEncodedSurrogate(bytes: Buffer): boolean {
  for (let index = 0; index + 1 < bytes.length; index++) {
    if (bytes[index] === 0xed && (bytes[index + 1] as number) >= 0xa0) return true;
  }
  return false;
}

describe('lone surrogates in claims written as invalid UTF-8', () => {
  const identity: Identity = {
    ...IDENTITY,
    subject: '\ud800x',
    clientId: 'web\udfff',
    scopes: ['orders:read', 'admin\ud83d'],
  };
  const allow: Allow = {
    ...ALLOW,
    identity,
    setHeaders: [{ name: 'x-auth-subject', value: '\ud800x' }],
  };
  const deny = denial(403, {
    identity,
    message: 'token lacks \ud800 a required scope',
    challenge: 'Bearer realm="tollgate", error_description="\ud800"',
  });

  it.each<[name: string, decision: Decision]>([
    ['an allow', allow],
    ['a denial', deny],
  ])('encodes %s whose identity holds lone surrogates as valid UTF-8', (_, decision) => {
    const bytes = encodeWithWriter(toCheckResponse(decision));

    expect(hasEncodedSurrogate(bytes)).toBe(false);
    expect(decodeCheckResponse(bytes)).toMatchObject({
      dynamic_metadata: {
        fields: {
          subject: { stringValue: '\ufffdx' },
          client_id: { stringValue: 'web\ufffd' },
          scopes: {
            listValue: {
              values: [{ stringValue: 'orders:read' }, { stringValue: 'admin\ufffd' }],
            },
          },
        },
      },
    });
  });

  it('writes the header values of an allow as valid UTF-8', () => {
    const bytes = encodeWithWriter(toCheckResponse(allow));

    expect(hasEncodedSurrogate(bytes)).toBe(false);
    expect(decodeCheckResponse(bytes)).toMatchObject({
      ok_response: { headers: [{ header: { key: 'x-auth-subject', value: '\ufffdx' } }] },
    });
  });

  it('writes the challenge of a denial as valid UTF-8', () => {
    const bytes = encodeWithWriter(toCheckResponse(deny));

    expect(hasEncodedSurrogate(bytes)).toBe(false);
    expect(JSON.stringify(decodeCheckResponse(bytes))).toContain('error_description=\\"\ufffd\\"');
  });

  it('keeps strings that are already well formed exactly as they are', () => {
    const emoji: Allow = { ...ALLOW, identity: { ...IDENTITY, subject: 'ali\u{1F600}ce' } };

    const bytes = encodeWithWriter(toCheckResponse(emoji));

    expect(decodeCheckResponse(bytes)).toMatchObject({
      dynamic_metadata: { fields: { subject: { stringValue: 'ali\u{1F600}ce' } } },
    });
  });

  it('encodes a decision id holding a lone surrogate as valid UTF-8', () => {
    const encoder = new CheckResponseEncoder();

    const bytes = encoder.encode(ALLOW, 'req-\udc00');

    expect(hasEncodedSurrogate(bytes)).toBe(false);
  });
});

describe('a verified token whose sub holds a lone surrogate', () => {
  let directory: string;
  let decider: Decider;
  let sign: (claims: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tollgate-to-check-response-'));
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    await writeFile(join(directory, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    sign = (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);

    const config = parseConfig(
      `
providers:
  - name: corp
    issuer: https://idp.example
    audiences: [orders-api]
    jwks: { file: "${join(directory, 'jwks.json')}" }
    claimHeaders:
      - { claim: sub, header: x-auth-subject }
      - { claim: client_id, header: x-auth-client-id }
rules:
  - { name: read-orders, match: { paths: [/orders] }, action: allow, require: { scopes: [orders:read] } }
`,
      join(directory, 'tollgate.yaml'),
    );
    await Promise.all(
      [...config.policy.providers.values()].map((provider) => provider.keys.refresh()),
    );
    decider = new Decider(config.policy, new TokenCache(100), () => 1_750_000_000);
  });

  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('is allowed without an x-auth-subject header, which is stripped instead', async () => {
    const token = await sign({
      iss: 'https://idp.example',
      aud: 'orders-api',
      sub: '\ud800x',
      client_id: 'web',
      scope: 'orders:read',
      exp: 1_750_000_300,
    });

    const decision = await decider.decide({
      id: 'req-1',
      method: 'GET',
      host: 'orders.example.com',
      rawPath: '/orders',
      headers: { authorization: `Bearer ${token}` },
    });
    const bytes = new CheckResponseEncoder().encode(decision, 'req-1');

    expect(decision).toMatchObject({
      allow: true,
      setHeaders: [{ name: 'x-auth-client-id', value: 'web' }],
      removeHeaders: ['x-auth-subject'],
    });
    expect(hasEncodedSurrogate(bytes)).toBe(false);
  });
});
