import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, deniedStatus, headerOf, metadataOf } from '../support/envoy-client.js';
import {
  DEFAULT_RESOURCES,
  signForeignToken,
  startIdentityProvider,
  type TestIdentityProvider,
} from '../support/identity-provider.js';
import { startTollgate, type TollgateInstance } from '../support/tollgate-instance.js';

const ORDERS_API = DEFAULT_RESOURCES[0] as string;
const OTHER_API = DEFAULT_RESOURCES[1] as string;

function configFor(issuer: string): string {
  return `
providers:
  - name: corp
    issuer: ${issuer}
    audiences: [${ORDERS_API}]
    jwks: { discovery: true, cooldownSeconds: 0 }
    credentials:
      - { header: authorization, scheme: Bearer }
      - { cookie: access_token }
    claimHeaders:
      - { claim: sub, header: x-auth-subject }
      - { claim: client_id, header: x-auth-client-id }
rules:
  - name: health
    match: { paths: [/healthz], methods: [GET] }
    action: allow
  - name: read-orders
    match: { hosts: [orders.example.com], paths: [/orders, /orders/*], methods: [GET, HEAD] }
    action: allow
    require: { providers: [corp], scopes: [orders:read] }
  - name: no-admin
    match: { paths: [/admin/**] }
    action: deny
defaultAction: deny
`;
}

describe('Check against a real OpenID provider', () => {
  let idp: TestIdentityProvider;
  let tollgate: TollgateInstance;
  let clockOffsetSeconds = 0;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    tollgate = await startTollgate(configFor(idp.issuer), {
      nowSeconds: () => Date.now() / 1000 + clockOffsetSeconds,
    });
  });

  afterAll(async () => {
    await tollgate?.stop();
    await idp?.close();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('reports SERVING once the provider keys are loaded', async () => {
    await expect(tollgate.client.health()).resolves.toEqual({ status: 'SERVING' });
    await expect(tollgate.client.health('envoy.service.auth.v3.Authorization')).resolves.toEqual({
      status: 'SERVING',
    });
  });

  it('allows a token with the scope, sets identity headers and dynamic metadata', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });

    const response = await tollgate.client.check({
      path: '/orders/42?expand=items',
      headers: { ...bearer(token), 'x-request-id': 'req-allow-1', 'x-auth-subject': 'forged' },
    });

    expect(response.status.code ?? 0).toBe(0);
    expect(response.denied_response).toBeUndefined();
    expect(headerOf(response, 'x-auth-subject')).toBe('orders-service');
    expect(headerOf(response, 'x-auth-client-id')).toBe('orders-service');
    expect(response.ok_response?.headers?.[0]?.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(response.ok_response?.headers_to_remove ?? []).not.toContain('x-auth-subject');
    expect(metadataOf(response, 'decision_id')).toBe('req-allow-1');
    expect(metadataOf(response, 'rule')).toBe('read-orders');
    expect(metadataOf(response, 'subject')).toBe('orders-service');
    expect(metadataOf(response, 'client_id')).toBe('orders-service');
    expect(metadataOf(response, 'issuer')).toBe(idp.issuer);
    expect(metadataOf(response, 'scopes')).toEqual(['orders:read']);
  });

  it('reads raw headers sent as header_map with encode_raw_headers', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });

    const response = await tollgate.client.check({
      path: '/orders',
      rawHeaders: [
        [':authority', 'orders.example.com'],
        ['authorization', `Bearer ${token}`],
      ],
    });

    expect(response.status.code ?? 0).toBe(0);
  });

  it('accepts the token from the access_token cookie', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });

    const response = await tollgate.client.check({
      path: '/orders',
      headers: { cookie: `theme=dark; access_token=${token}` },
    });

    expect(response.status.code ?? 0).toBe(0);
  });

  it('answers 401 with a bare Bearer challenge when no token is sent', async () => {
    const response = await tollgate.client.check({ path: '/orders' });

    expect(deniedStatus(response)).toBe(401);
    expect(headerOf(response, 'www-authenticate')).toBe('Bearer realm="tollgate"');
    expect(bodyOf(response).error).toBe('credential_missing');
    expect(response.status.code).toBe(16);
  });

  it('answers 401 invalid_token for an expired token', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });
    clockOffsetSeconds = 3600;
    try {
      const response = await tollgate.client.check({ path: '/orders', headers: bearer(token) });

      expect(deniedStatus(response)).toBe(401);
      expect(bodyOf(response).error).toBe('token_expired');
      expect(headerOf(response, 'www-authenticate')).toContain('error="invalid_token"');
    } finally {
      clockOffsetSeconds = 0;
    }
  });

  it('denies a token issued for another audience', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: OTHER_API });

    const response = await tollgate.client.check({ path: '/orders', headers: bearer(token) });

    expect(deniedStatus(response)).toBe(401);
    expect(bodyOf(response).error).toBe('token_audience_invalid');
  });

  it("denies a token signed with the provider's key but naming another issuer", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await idp.signToken({
      iss: 'https://impostor.example',
      aud: ORDERS_API,
      sub: 'mallory',
      scope: 'orders:read',
      iat: now,
      exp: now + 300,
    });

    const response = await tollgate.client.check({ path: '/orders', headers: bearer(token) });

    expect(deniedStatus(response)).toBe(401);
    expect(bodyOf(response).error).toBe('token_issuer_invalid');
  });

  it('denies a token signed with a key the provider never published', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signForeignToken({
      iss: idp.issuer,
      aud: ORDERS_API,
      sub: 'mallory',
      scope: 'orders:read',
      iat: now,
      exp: now + 300,
    });

    const response = await tollgate.client.check({ path: '/orders', headers: bearer(token) });

    expect(deniedStatus(response)).toBe(401);
    expect(bodyOf(response).error).toBe('token_key_unknown');
  });

  it('answers 403 insufficient_scope naming the scope the rule needs', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:write', resource: ORDERS_API });

    const response = await tollgate.client.check({ path: '/orders', headers: bearer(token) });

    expect(deniedStatus(response)).toBe(403);
    expect(bodyOf(response).error).toBe('scope_missing');
    expect(headerOf(response, 'www-authenticate')).toBe(
      'Bearer realm="tollgate", error="insufficient_scope", scope="orders:read"',
    );
    expect(metadataOf(response, 'subject')).toBe('orders-service');
  });

  it('verifies tokens signed with a key rotated in at the provider mid-test', async () => {
    const before = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });
    const fetchesBefore = idp.jwksRequests;
    await idp.rotateKeys();
    const after = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });
    expect(after).not.toBe(before);

    const response = await tollgate.client.check({ path: '/orders', headers: bearer(after) });

    expect(response.status.code ?? 0).toBe(0);
    expect(idp.jwksRequests).toBe(fetchesBefore + 1);
  });

  it('allows a public route without a token and strips forged identity headers', async () => {
    const response = await tollgate.client.check({
      path: '/healthz',
      headers: { 'x-auth-subject': 'forged' },
    });

    expect(response.status.code ?? 0).toBe(0);
    expect(response.ok_response?.headers_to_remove).toEqual(['x-auth-subject', 'x-auth-client-id']);
    expect(metadataOf(response, 'rule')).toBe('health');
  });

  it.each([
    ['a deny rule', '/admin/users', 403, 'rule_denied'],
    ['a dot segment that climbs into a denied path', '/orders/../admin/users', 403, 'rule_denied'],
    ['an encoded dot segment into a denied path', '/orders/%2e%2e/admin/x', 403, 'rule_denied'],
    ['no matching rule', '/reports', 403, 'default_denied'],
    ['an encoded slash', '/orders%2F42', 400, 'path_invalid'],
    ['a path above the root', '/../etc/passwd', 400, 'path_invalid'],
  ])('denies %s', async (_case, path, status, reason) => {
    const response = await tollgate.client.check({ path });

    expect(deniedStatus(response)).toBe(status);
    expect(bodyOf(response).error).toBe(reason);
  });

  it('answers 400 request_invalid for a CheckRequest without HTTP attributes', async () => {
    const response = await tollgate.client.checkRaw({ attributes: {} });

    expect(deniedStatus(response)).toBe(400);
    expect(bodyOf(response).error).toBe('request_invalid');
  });

  it('answers 400 invalid_request for a credential in the wrong scheme', async () => {
    const response = await tollgate.client.check({
      path: '/orders',
      headers: { authorization: 'Basic b3JkZXJzOnNlY3JldA==' },
    });

    expect(deniedStatus(response)).toBe(400);
    expect(bodyOf(response).error).toBe('credential_malformed');
    expect(headerOf(response, 'www-authenticate')).toContain('error="invalid_request"');
  });

  it('never writes a token into a log line or a response', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:write', resource: OTHER_API });
    const signature = token.split('.')[2] as string;

    const response = await tollgate.client.check({ path: '/orders', headers: bearer(token) });

    expect(JSON.stringify(response)).not.toContain(signature);
    expect(tollgate.logText()).not.toContain(signature);
    expect(tollgate.logText()).toContain('[redacted]');
  });

  it('logs one decision line with id, route, outcome, reason and duration', async () => {
    await tollgate.client.check({
      path: '/reports?secret=1',
      headers: { 'x-request-id': 'req-log-1' },
    });

    const lines = tollgate.logs.filter((line) => line.decision_id === 'req-log-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      method: 'GET',
      host: 'orders.example.com',
      path: '/reports',
      outcome: 'deny',
      reason: 'default_denied',
    });
    expect(typeof lines[0]?.duration_ms).toBe('number');
  });
});

describe('Check with hostile framing', () => {
  let tollgate: TollgateInstance;

  beforeAll(async () => {
    tollgate = await startTollgate(
      'rules: [{ name: open, match: { paths: [/open] }, action: allow }]',
    );
  });

  afterAll(async () => {
    await tollgate?.stop();
  });

  it('answers bytes that are not a CheckRequest with a 400 denial, not a gRPC error', async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);

    const response = await tollgate.client.checkBytes(garbage);

    expect(deniedStatus(response)).toBe(400);
    expect(bodyOf(response).error).toBe('request_invalid');
  });
});
