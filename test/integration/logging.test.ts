import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_RESOURCES,
  startIdentityProvider,
  type TestIdentityProvider,
} from '../support/identity-provider.js';
import { startTollgate, type TollgateInstance } from '../support/tollgate-instance.js';

const ORDERS_API = DEFAULT_RESOURCES[0] as string;

function configFor(issuer: string): string {
  return `
log: { level: debug }
providers:
  - name: corp
    issuer: ${issuer}
    audiences: [${ORDERS_API}]
    jwks: { discovery: true }
    credentials:
      - { header: authorization, scheme: Bearer }
      - { header: x-tollgate-proof }
      - { cookie: access_token }
rules:
  - name: read-orders
    match: { paths: [/orders, /orders/*] }
    action: allow
    require: { scopes: [orders:read] }
defaultAction: deny
`;
}

/** The signature part of a compact JWS: unique to the token, so finding it means a leak. */
function signatureOf(token: string): string {
  return token.split('.')[2] as string;
}

/**
 * README: "No token is ever logged". At debug level the decision line carries the request
 * headers; these tests send tokens everywhere a client or a proxy in front of Envoy might put
 * them and look for them in the raw log text.
 */
describe('debug logging of decisions', () => {
  let idp: TestIdentityProvider;
  let tollgate: TollgateInstance;

  beforeAll(async () => {
    idp = await startIdentityProvider();
    tollgate = await startTollgate(configFor(idp.issuer), { logLevel: 'debug' });
  });

  afterAll(async () => {
    await tollgate?.stop();
    await idp?.close();
  });

  function decisionLine(id: string): Record<string, unknown> | undefined {
    return tollgate.logs.find((line) => line.msg === 'decision' && line.decision_id === id);
  }

  it('logs no token sent in the query, a forwarded-token header, authorization or a cookie', async () => {
    const tokens = await Promise.all(
      [1, 2, 3, 4, 5].map(() =>
        idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API }),
      ),
    );
    const [inQuery, forwarded, bearer, inCookie, idToken] = tokens as [
      string,
      string,
      string,
      string,
      string,
    ];

    const response = await tollgate.client.check({
      path: `/orders/42?access_token=${inQuery}&expand=items`,
      headers: {
        'x-request-id': 'req-tokens-everywhere',
        authorization: `Bearer ${bearer}`,
        // A cookie other than the configured access_token: two credentials would be refused.
        cookie: `theme=dark; id_token=${inCookie}`,
        'x-forwarded-access-token': forwarded,
        'x-id-token': idToken,
        'x-amzn-oidc-data': idToken,
        'user-agent': 'logging-test/1.0',
      },
    });

    expect(response.status.code ?? 0).toBe(0);
    const text = tollgate.logText();
    for (const token of tokens) expect(text).not.toContain(signatureOf(token));
    const line = decisionLine('req-tokens-everywhere');
    expect(line).toMatchObject({ level: 'debug', path: '/orders/42', outcome: 'allow' });
    expect(line?.headers).toMatchObject({
      ':path': '/orders/42',
      authorization: '[redacted]',
      cookie: '[redacted]',
      'x-forwarded-access-token': '[redacted]',
      'x-id-token': '[redacted]',
      'x-amzn-oidc-data': '[redacted]',
      'user-agent': 'logging-test/1.0',
    });
  });

  it('logs no token read from a configured credential header of any name', async () => {
    const token = await idp.issueAccessToken({ scope: 'orders:read', resource: ORDERS_API });

    const response = await tollgate.client.check({
      path: '/orders',
      headers: { 'x-request-id': 'req-configured-header', 'x-tollgate-proof': token },
    });

    expect(response.status.code ?? 0).toBe(0);
    expect(tollgate.logText()).not.toContain(signatureOf(token));
    expect(decisionLine('req-configured-header')?.headers).toMatchObject({
      'x-tollgate-proof': '[redacted]',
    });
  });

  it('logs no token of a denied request either', async () => {
    const token = await idp.issueAccessToken({ resource: ORDERS_API });

    const response = await tollgate.client.check({
      path: `/orders?access_token=${token}`,
      headers: { 'x-request-id': 'req-denied', authorization: `Bearer ${token}` },
    });

    expect(response.denied_response).toBeDefined();
    expect(tollgate.logText()).not.toContain(signatureOf(token));
    expect(decisionLine('req-denied')).toMatchObject({ outcome: 'deny', path: '/orders' });
  });

  it('logs the same decision fields for a token on its first use and once it is cached', async () => {
    const token = await idp.issueAccessToken({ resource: ORDERS_API, scope: 'orders:read' });
    // The cache keeps a token from its second verification on: three uses cover the first
    // (a Decision for one request), the second (kept) and the third (from the cache).
    const ids = ['req-use-1', 'req-use-2', 'req-use-3'];
    for (const id of ids) {
      const response = await tollgate.client.check({
        path: '/orders',
        headers: { 'x-request-id': id, authorization: `Bearer ${token}` },
      });
      expect(response.ok_response).toBeDefined();
    }

    const lines = ids.map(decisionLine);
    for (const line of lines) {
      expect(line).toMatchObject({
        rule: 'read-orders',
        outcome: 'allow',
        reason: 'allowed',
        status: 200,
        subject: expect.any(String),
        path: '/orders',
      });
    }
    expect(new Set(lines.map((line) => line?.subject)).size).toBe(1);
    expect(tollgate.logText()).not.toContain(signatureOf(token));
  });
});
