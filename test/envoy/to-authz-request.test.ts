import { describe, expect, it } from 'vitest';
import type { CheckRequest, HeaderValue, HttpRequest } from '../../src/envoy/messages.js';
import { toAuthzRequest } from '../../src/envoy/to-authz-request.js';
import { lookUpCredential } from '../../src/identity/credential-source.js';
import type { AuthzRequest } from '../../src/pipeline/authz-request.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';

/** The HTTP attributes Envoy fills for a plain GET; each test overrides what it is about. */
const BASE: HttpRequest = { method: 'GET', path: '/orders', host: 'orders.example.com' };

function checkOf(http: HttpRequest): CheckRequest {
  return { attributes: { request: { http } } };
}

function translate(http: HttpRequest): AuthzRequest {
  const translation = toAuthzRequest(checkOf({ ...BASE, ...http }));
  if (!translation.ok) throw new Error(`expected a request, got "${translation.problem}"`);
  return translation.request;
}

function problemOf(http: HttpRequest): string | undefined {
  const translation = toAuthzRequest(checkOf(http));
  return translation.ok ? undefined : translation.problem;
}

/** Raw headers as Envoy sends them with encode_raw_headers: bytes in raw_value. */
function rawHeaders(...pairs: [string, string][]): { headers: HeaderValue[] } {
  return { headers: pairs.map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
}

describe('toAuthzRequest headers', () => {
  it('reads the headers map with lower-case names', () => {
    const request = translate({ headers: { Authorization: 'Bearer x', 'X-Custom': 'v' } });

    expect(request.headers).toEqual({ authorization: 'Bearer x', 'x-custom': 'v' });
  });

  it('reads raw headers from header_map, preferring it to the headers map', () => {
    const request = translate({
      headers: { authorization: 'from-map' },
      header_map: rawHeaders(['Authorization', 'from-raw'], ['x-custom', 'v']),
    });

    expect(request.headers).toEqual({ authorization: 'from-raw', 'x-custom': 'v' });
  });

  it('falls back to the headers map when header_map is empty', () => {
    const request = translate({ headers: { a: '1' }, header_map: { headers: [] } });

    expect(request.headers).toEqual({ a: '1' });
  });

  it.each<[string, HeaderValue, string]>([
    [
      'raw_value bytes, read as Latin-1',
      { key: 'x', raw_value: Buffer.from([0x61, 0xe9]) },
      'a\u00e9',
    ],
    [
      'value when raw_value is empty',
      { key: 'x', value: 'text', raw_value: Buffer.alloc(0) },
      'text',
    ],
    ['value when raw_value is absent', { key: 'x', value: 'text' }, 'text'],
    ['raw_value over value', { key: 'x', value: 'text', raw_value: Buffer.from('raw') }, 'raw'],
    ['an empty string when neither is set', { key: 'x' }, ''],
  ])('takes a raw header from %s', (_, header, value) => {
    const request = translate({ header_map: { headers: [header] } });

    expect(request.headers.x).toBe(value);
  });

  it('skips raw headers without a name', () => {
    const request = translate({
      header_map: { headers: [{ value: 'v' }, { key: 'a', value: '1' }] },
    });

    expect(request.headers).toEqual({ a: '1' });
  });

  it('joins repeated raw headers with ",", across differences in case', () => {
    const request = translate({
      header_map: rawHeaders(['accept', 'a/b'], ['Accept', 'c/d'], ['ACCEPT', 'e/f']),
    });

    expect(request.headers.accept).toBe('a/b,c/d,e/f');
  });

  // Regression: repeated cookie headers were joined with ",", so a cookie parser read the second
  // header's first cookie as part of the previous value and its token was lost.
  it('joins repeated cookie headers with "; " (RFC 9113 §8.2.3), so a token in the second is found', () => {
    const request = translate({
      header_map: rawHeaders(['cookie', 'theme=dark'], ['Cookie', `access_token=${TOKEN}`]),
    });

    expect(request.headers.cookie).toBe(`theme=dark; access_token=${TOKEN}`);
    expect(lookUpCredential(request.headers, { kind: 'cookie', cookie: 'access_token' })).toEqual({
      kind: 'found',
      token: TOKEN,
    });
  });

  it('keeps a header named __proto__ as plain data', () => {
    const request = translate({ header_map: rawHeaders(['__proto__', 'x']) });

    expect(Object.getOwnPropertyDescriptor(request.headers, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(request.headers)).toBeNull();
  });

  // Regression: String#toLowerCase turned the Kelvin sign into "k", so a header a client named
  // "X-Api-\u212Aey" was read as the "x-api-key" a credential source looks for.
  it.each<[string, HttpRequest]>([
    ['raw headers', { header_map: rawHeaders(['X-Api-\u212Aey', TOKEN]) }],
    ['the headers map', { headers: { 'X-Api-\u212Aey': TOKEN } }],
  ])('lower-cases header names by ASCII only in %s', (_, http) => {
    const request = translate(http);

    expect(request.headers['x-api-key']).toBeUndefined();
    expect(request.headers['x-api-\u212Aey']).toBe(TOKEN);
  });
});

describe('toAuthzRequest method and path', () => {
  it.each([
    ['GET', 'GET'],
    ['get', 'GET'],
    ['Post', 'POST'],
    ['M-SEARCH', 'M-SEARCH'],
    ['propfind', 'PROPFIND'],
    ["X!#$%&'*+-.^_`|~9", "X!#$%&'*+-.^_`|~9"],
  ])('upper-cases the method %j to %j', (method, expected) => {
    expect(translate({ method }).method).toBe(expected);
  });

  // Regression: String#toUpperCase turns "poſt" (long s) into "POST", so a rule for POST applied
  // to a method no upstream knows; a method must be an RFC 9110 token, upper-cased in ASCII.
  it.each([
    ['a long s', 'po\u017Ft'],
    ['a dotless i', 'l\u0131nk'],
    ['the ligature "ﬀ"', 'o\uFB00'],
    ['a space', 'GET /'],
    ['a NUL', 'GET\u0000'],
    ['a separator', 'GET,POST'],
    ['a Latin-1 letter', 'G\u00C9T'],
  ])('refuses a method with %s as "invalid method"', (_, method) => {
    expect(problemOf({ ...BASE, method })).toBe('invalid method');
  });

  it('reads method and path from the pseudo-headers when the attributes lack them', () => {
    const request = translate({
      method: '',
      path: '',
      headers: { ':method': 'delete', ':path': '/orders/1?x=y' },
    });

    expect(request).toMatchObject({ method: 'DELETE', rawPath: '/orders/1?x=y' });
  });

  it('passes the path through as sent, query and all, for policy to normalize', () => {
    expect(translate({ path: '/a/../b;c?d=%00' }).rawPath).toBe('/a/../b;c?d=%00');
  });

  it.each<[string, HttpRequest, string]>([
    ['no method', { path: '/', host: 'a' }, 'request has no method'],
    ['an empty method', { method: '', path: '/', host: 'a' }, 'request has no method'],
    ['no path', { method: 'GET', host: 'a' }, 'request has no path'],
    ['an empty path', { method: 'GET', path: '', host: 'a' }, 'request has no path'],
  ])('refuses a request with %s', (_, http, problem) => {
    expect(problemOf(http)).toBe(problem);
  });
});

describe('toAuthzRequest host', () => {
  it.each<[string, HttpRequest, string]>([
    ['the host attribute', { host: 'API.Example.com:8443' }, 'api.example.com'],
    ['a trailing dot', { host: 'api.example.com.' }, 'api.example.com'],
    ['an IPv6 literal', { host: '[2001:DB8::1]:443' }, '[2001:db8::1]'],
    [':authority', { host: '', headers: { ':authority': 'A.example.com' } }, 'a.example.com'],
    ['the Host header', { host: '', headers: { host: 'b.example.com:80' } }, 'b.example.com'],
    ['no host at all (HTTP/1.0)', { host: '' }, ''],
  ])('normalizes the host from %s', (_, http, host) => {
    expect(translate(http).host).toBe(host);
  });

  // Regression: any text was taken as the host, so "*.example.com" matched hosts that name
  // another server upstream, and ports no socket can have passed.
  it.each([
    'evil.com/.example.com',
    'a b.example.com',
    '..example.com',
    'x@y.example.com',
    'api.example.com:abc',
    'api.example.com:99999',
    '[::1',
    ':80',
  ])('refuses the host %j as "invalid host"', (host) => {
    expect(problemOf({ ...BASE, host })).toBe('invalid host');
  });

  it('refuses an invalid :authority when the host attribute is empty', () => {
    expect(problemOf({ ...BASE, host: '', headers: { ':authority': 'x@y.example.com' } })).toBe(
      'invalid host',
    );
  });
});

describe('toAuthzRequest decision id', () => {
  it('uses the x-request-id header', () => {
    expect(translate({ id: '7', headers: { 'x-request-id': 'req-1' } }).id).toBe('req-1');
  });

  it("falls back to Envoy's request id, then to a generated UUID", () => {
    expect(translate({ id: '7' }).id).toBe('7');
    expect(translate({ id: '' }).id).toMatch(UUID);
  });

  it('keeps an x-request-id of 128 visible ASCII characters', () => {
    const id = `${'a'.repeat(120)}!~-_.:/=`;

    expect(translate({ headers: { 'x-request-id': id } }).id).toBe(id);
  });

  // Regression: the x-request-id was echoed unbounded into the metadata and every log line.
  it.each([
    ['longer than 128 characters', 'a'.repeat(129)],
    ['of a megabyte', 'a'.repeat(1024 * 1024)],
    ['with a space', 'req 1'],
    ['with a line break', 'req-1\nlevel=error'],
    ['with a NUL', 'req-1\u0000'],
    ['with a DEL', 'req-1\u007f'],
    ['with a non-ASCII letter', 'r\u00e9q-1'],
  ])('replaces an x-request-id %s with a generated UUID', (_, id) => {
    expect(translate({ headers: { 'x-request-id': id } }).id).toMatch(UUID);
  });

  it("applies the same rules to Envoy's request id", () => {
    expect(translate({ id: 'x'.repeat(129) }).id).toMatch(UUID);
  });

  it('carries the id on a refused request', () => {
    const translation = toAuthzRequest(checkOf({ headers: { 'x-request-id': 'req-2' } }));

    expect(translation).toEqual({ ok: false, problem: 'request has no method', id: 'req-2' });
  });
});

describe('toAuthzRequest refusals', () => {
  it('refuses a message that is not a CheckRequest, with a generated id', () => {
    const translation = toAuthzRequest({ undecodable: true });

    expect(translation).toEqual({
      ok: false,
      problem: 'the message is not a CheckRequest',
      id: expect.stringMatching(UUID),
    });
  });

  it.each<[string, CheckRequest]>([
    ['no attributes', {}],
    ['no request', { attributes: {} }],
    ['no http', { attributes: { request: {} } }],
  ])('refuses a CheckRequest with %s', (_, check) => {
    const translation = toAuthzRequest(check);

    expect(translation).toEqual({
      ok: false,
      problem: 'CheckRequest has no HTTP request attributes',
      id: expect.stringMatching(UUID),
    });
  });

  it('builds the whole request model from a typical CheckRequest', () => {
    const translation = toAuthzRequest(
      checkOf({
        id: '99',
        method: 'get',
        path: '/orders/42?expand=items',
        host: 'Orders.Example.com:443',
        headers: { ':method': 'GET', 'x-request-id': 'req-3', authorization: 'Bearer t' },
      }),
    );

    expect(translation).toEqual({
      ok: true,
      request: {
        id: 'req-3',
        method: 'GET',
        host: 'orders.example.com',
        rawPath: '/orders/42?expand=items',
        headers: { ':method': 'GET', 'x-request-id': 'req-3', authorization: 'Bearer t' },
      },
    });
  });
});
