import { describe, expect, it } from 'vitest';
import { normalizePath, type PathOptions } from '../../src/policy/path-normalize.js';

const REJECT: PathOptions = { encodedSlashes: 'reject', semicolons: 'reject' };
const KEEP: PathOptions = { encodedSlashes: 'keep', semicolons: 'reject' };
const KEEP_SEMICOLONS: PathOptions = { encodedSlashes: 'reject', semicolons: 'keep' };

describe('normalizePath', () => {
  it.each([
    ['/', '/'],
    ['/orders', '/orders'],
    ['/orders/', '/orders/'],
    ['/orders/42/items', '/orders/42/items'],
    ['/a.b/..c/...', '/a.b/..c/...'],
    ["/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="],
    ['/-._~', '/-._~'],
  ])('returns the canonical path %s unchanged', (raw, path) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: true, path, query: '' });
  });

  it.each([
    ['//a//b', '/a/b'],
    ['//', '/'],
    ['/a//', '/a/'],
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/..', '/'],
    ['/.', '/'],
    ['/./a', '/a'],
    ['/a/b/../../c/', '/c/'],
    ['/a/./../b', '/b'],
  ])('merges slashes and resolves dot segments in %s', (raw, path) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: true, path, query: '' });
  });

  it.each([
    ['/%7euser', '/~user'],
    ['/%41', '/A'],
    ['/%41%42c', '/ABc'],
    ['/a%2db%5f%2E', '/a-b_.'],
    ['/a/%2e/b', '/a/b'],
    ['/a/b/%2e%2e/c', '/a/c'],
    ['/a/b/.%2E', '/a/'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%20b', '/a%20b'],
    ['/a%80', '/a%80'],
    ['/a%252e%252e/', '/a%252e%252e/'],
    ['/%25', '/%25'],
    ['/%2e%2e%2e', '/...'],
  ])('decodes only unreserved escapes and upper-cases the rest in %s', (raw, path) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: true, path, query: '' });
  });

  it.each([
    ['/a"b', '/a%22b'],
    ['/a<b>', '/a%3Cb%3E'],
    ['/{id}|x', '/%7Bid%7D%7Cx'],
    ['/a^b`c', '/a%5Eb%60c'],
    ['/[x]', '/%5Bx%5D'],
  ])('percent-encodes characters a path may not hold raw in %s', (raw, path) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: true, path, query: '' });
  });

  it('spells a raw unsafe character and its escape as one path', () => {
    expect(normalizePath('/a"b', REJECT)).toEqual(normalizePath('/a%22b', REJECT));
  });

  it.each([
    ['/a?b=1', '/a', 'b=1'],
    ['/a?', '/a', ''],
    ['/a?x=../../etc&y=%2e%2e', '/a', 'x=../../etc&y=%2e%2e'],
    ['/a?b=1#frag', '/a', 'b=1'],
    ['/a#frag', '/a', ''],
    ['/a#frag?not=query', '/a', ''],
    ['/a/../b?c=d?e', '/b', 'c=d?e'],
    ['/a?b=1;c=2', '/a', 'b=1;c=2'],
    ['/a?b=%3b%00', '/a', 'b=%3b%00'],
    ['/a#;x', '/a', ''],
    ['/a?q=%zz', '/a', 'q=%zz'],
  ])('splits %s into path and untouched query, dropping the fragment', (raw, path, query) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: true, path, query });
  });

  it.each([
    ['/a/../../b', 'path climbs above the root'],
    ['/..', 'path climbs above the root'],
    ['/../a', 'path climbs above the root'],
    ['/%2e%2e/x', 'path climbs above the root'],
    ['/%2E%2e/', 'path climbs above the root'],
    ['/.%2e/', 'path climbs above the root'],
    ['/a/b/../../..', 'path climbs above the root'],
    ['/a/../b/../..', 'path climbs above the root'],
    ['/a/%2f/b', 'encoded slash in path'],
    ['/a%2Fb', 'encoded slash in path'],
    ['/a%5cb', 'encoded backslash in path'],
    ['/a%5Cb', 'encoded backslash in path'],
    ['/a\\b', 'backslash in path'],
    ['/a%2', 'invalid percent-escape'],
    ['/a%', 'invalid percent-escape'],
    ['/a%2?b', 'invalid percent-escape'],
    ['/a%zz', 'invalid percent-escape'],
    ['/a%g0', 'invalid percent-escape'],
    ['/a%%41', 'invalid percent-escape'],
    ['', 'path must start with "/"'],
    ['?', 'path must start with "/"'],
    ['?a=b', 'path must start with "/"'],
    ['#frag', 'path must start with "/"'],
    ['*', 'path must start with "/"'],
    ['a/b', 'path must start with "/"'],
    ['http://x/a', 'path must start with "/"'],
    ['/a\tb', 'control character in path'],
    ['/a\u0000b', 'control character in path'],
    ['/a\nb', 'control character in path'],
    ['/a\u007fb', 'control character in path'],
    ['/a b', 'space in path'],
    ['/café', 'non-ASCII character in path'],
    ['/a\u2215b', 'non-ASCII character in path'],
    ['/a;b', 'semicolon in path'],
    ['/a%3bb', 'semicolon in path'],
    ['/a%3Bb', 'semicolon in path'],
    ['/a%00', 'encoded control character in path'],
  ])('refuses %j with "%s"', (raw, problem) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: false, problem });
  });

  // Regression: Servlet containers drop ";..." from each segment before resolving dots, so they
  // read all of these as /admin/users while a public /static/** rule matched them here.
  it.each([
    '/static/..;/admin/users',
    '/static/%2e%2e;/admin/users',
    '/static/..%3b/admin/users',
    '/static/..%3B/admin/users',
    '/static/.;/../admin/users',
    '/static;x=1/../admin/users',
    '/;/admin/users',
  ])('refuses the path parameter bypass %j of a /static/** rule', (raw) => {
    expect(normalizePath(raw, REJECT)).toEqual({ ok: false, problem: 'semicolon in path' });
  });

  // Regression: escapes of control characters were kept encoded and passed, although raw control
  // characters are refused; an upstream that decodes them sees a NUL, a line break or a DEL.
  it.each([
    '/orders/%00',
    '/orders/%0A',
    '/orders/%0d',
    '/orders/%09',
    '/orders/%1F',
    '/orders/%1f/x',
    '/orders/%7F',
    '/orders/%7f',
    '/a/../orders%0a',
  ])('refuses the encoded control character in %j', (raw) => {
    expect(normalizePath(raw, REJECT)).toEqual({
      ok: false,
      problem: 'encoded control character in path',
    });
  });

  it.each([
    ['/static/..;/admin/users', '/static/..;/admin/users'],
    ['/a;jsessionid=1', '/a;jsessionid=1'],
    ['/a;b/../c', '/c'],
    ['/a%3bb', '/a%3Bb'],
    ['/a/%3B/b', '/a/%3B/b'],
  ])('keeps semicolons in %s as part of their segment when told to keep them', (raw, path) => {
    expect(normalizePath(raw, KEEP_SEMICOLONS)).toEqual({ ok: true, path, query: '' });
  });

  it('spells a raw semicolon and its escape as two paths when keeping them', () => {
    const raw = normalizePath('/a;b', KEEP_SEMICOLONS);
    const escaped = normalizePath('/a%3Bb', KEEP_SEMICOLONS);

    expect(raw).not.toEqual(escaped);
  });

  it.each([
    [KEEP, '/a%00'],
    [KEEP_SEMICOLONS, '/a%00'],
    [{ encodedSlashes: 'keep', semicolons: 'keep' } as const, '/a;b%7F'],
  ])('still refuses encoded control characters with options %j', (options, raw) => {
    expect(normalizePath(raw, options)).toEqual({
      ok: false,
      problem: 'encoded control character in path',
    });
  });

  it('refuses semicolons when the options leave semicolons out, failing closed', () => {
    const options = { encodedSlashes: 'reject' } as unknown as PathOptions;

    expect(normalizePath('/a;b', options)).toEqual({ ok: false, problem: 'semicolon in path' });
    expect(normalizePath('/a%3Bb', options)).toEqual({ ok: false, problem: 'semicolon in path' });
  });

  it.each([
    ['/a/%2f/b', '/a/%2F/b'],
    ['/a%5cb', '/a%5Cb'],
    ['/a%2F..', '/a%2F..'],
    ['/a/%2F%2e%2e/b', '/a/%2F../b'],
  ])('keeps encoded slashes encoded in %s when told to keep them', (raw, path) => {
    expect(normalizePath(raw, KEEP)).toEqual({ ok: true, path, query: '' });
  });

  it.each([
    ['/a\\b', 'backslash in path'],
    ['/%2e%2e/x', 'path climbs above the root'],
  ])('still refuses %j when told to keep encoded slashes', (raw, problem) => {
    expect(normalizePath(raw, KEEP)).toEqual({ ok: false, problem });
  });

  it.each([
    '/SECRET%zz',
    '/SECRET/../..',
    '/SECRET%2f',
    '/SECRET\\',
    'SECRET',
    '/SECRET\u0001',
    '/SECRET;x',
    '/SECRET%00',
  ])('describes the problem with %j without echoing the path', (raw) => {
    const result = normalizePath(raw, REJECT);

    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });

  it.each(['//a//b/./c/../d/', '/%7euser/%41%2e%2e', '/caf%c3%a9/%252e', '/a"b/{c}', '/a/b/..'])(
    'gives a path that normalizes to itself again, from %s',
    (raw) => {
      const once = normalizePath(raw, REJECT);
      if (!once.ok) throw new Error(`expected ${raw} to normalize`);

      expect(normalizePath(once.path, REJECT)).toEqual({ ok: true, path: once.path, query: '' });
    },
  );
});
