import { describe, expect, it } from 'vitest';
import { REDACTED, redactHeaders, redactPath } from '../../src/log/redact-headers.js';

const TOKEN =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const NO_CREDENTIAL_HEADERS: ReadonlySet<string> = new Set();

function redactOne(name: string, value: string, credentialHeaders = NO_CREDENTIAL_HEADERS) {
  return redactHeaders({ [name]: value }, credentialHeaders)[name];
}

describe('redactHeaders', () => {
  it.each([
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'x-forwarded-access-token',
    'x-id-token',
    'x-amzn-oidc-data',
    'x-amzn-oidc-accesstoken',
    'x-goog-iap-jwt-assertion',
    'x-auth-request-access-token',
    'x-ms-token-aad-id-token',
    'x-client-secret',
    'x-password',
    'x-passwd',
    'x-session-id',
    'apikey',
    'x-signature',
    'x-credential',
    'x-saml-assertion',
    'X-Forwarded-Access-Token',
  ])('redacts the token-carrying header %s', (name) => {
    expect(redactOne(name, 'opaque-secret-value')).toBe(REDACTED);
  });

  it('keeps :authority, whose name contains "auth" but which holds the host', () => {
    expect(redactOne(':authority', 'orders.example.com')).toBe('orders.example.com');
  });

  it('redacts a configured credential header whose name says nothing of tokens', () => {
    const configured = new Set(['x-tollgate-proof']);

    expect(redactOne('x-tollgate-proof', 'opaque-secret-value', configured)).toBe(REDACTED);
    expect(redactOne('X-Tollgate-Proof', 'opaque-secret-value', configured)).toBe(REDACTED);
  });

  it('redacts a header of any name whose value holds a compact JWT', () => {
    expect(redactOne('x-upstream-context', `bearer ${TOKEN}`)).toBe(REDACTED);
  });

  it.each<[name: string, value: string, shown: string]>([
    [':path', `/orders/42?access_token=${TOKEN}`, '/orders/42'],
    [':path', '/orders/42#access_token=abc', '/orders/42'],
    [':path', '/orders/42', '/orders/42'],
    ['x-envoy-original-path', '/v1/orders?api_key=SECRET', '/v1/orders'],
    ['referer', 'https://app.example/callback?code=SECRET&state=1', 'https://app.example/callback'],
    [':path', `/magic-link/${TOKEN}`, REDACTED],
  ])('logs the URL-bearing header %s holding %s as %s', (name, value, shown) => {
    expect(redactOne(name, value)).toBe(shown);
  });

  it.each<[name: string, value: string]>([
    ['user-agent', 'curl/8.5.0'],
    [':method', 'GET'],
    ['accept', 'application/json'],
    ['x-request-id', 'req-1'],
    ['content-type', 'application/json; charset=utf-8'],
  ])('keeps the non-sensitive header %s as it is', (name, value) => {
    expect(redactOne(name, value)).toBe(value);
  });

  it('leaves the headers it was given untouched and keeps "__proto__" as plain data', () => {
    // JSON.parse makes "__proto__" an own property, as the null-prototype header record does.
    const headers = JSON.parse(
      `{ "authorization": "Bearer ${TOKEN}", "__proto__": "not a prototype" }`,
    ) as Record<string, string>;

    const redacted = redactHeaders(headers, NO_CREDENTIAL_HEADERS);

    expect(headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(Object.getPrototypeOf(redacted)).toBeNull();
    expect(Object.entries(redacted)).toEqual([
      ['authorization', REDACTED],
      ['__proto__', 'not a prototype'],
    ]);
  });
});

describe('redactPath', () => {
  it.each<[target: string, shown: string]>([
    ['/orders/42', '/orders/42'],
    ['/orders/42?access_token=SECRET', '/orders/42'],
    ['/orders/42#fragment', '/orders/42'],
    ['/?', '/'],
    [`/verify/${TOKEN}?x=1`, REDACTED],
  ])('logs %s as %s', (target, shown) => {
    expect(redactPath(target)).toBe(shown);
  });
});
