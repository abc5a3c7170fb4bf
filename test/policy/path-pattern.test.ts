import { describe, expect, it } from 'vitest';
import { normalizePath } from '../../src/policy/path-normalize.js';
import {
  compilePathPattern,
  PatternError,
  splitPathSegments,
} from '../../src/policy/path-pattern.js';

/**
 * Matches the way a request does: normalize the raw path, split it, then match. Semicolons are
 * kept so that patterns holding one can be tried; every other row holds none.
 */
function matchesRequest(pattern: string, rawPath: string): boolean {
  const normalized = normalizePath(rawPath, { encodedSlashes: 'reject', semicolons: 'keep' });
  if (!normalized.ok) throw new Error(`test path ${rawPath} does not normalize`);
  return compilePathPattern(pattern).matches(splitPathSegments(normalized.path));
}

describe('splitPathSegments', () => {
  it.each([
    ['/', []],
    ['', []],
    ['/orders', ['orders']],
    ['/orders/', ['orders']],
    ['/orders/42/items', ['orders', '42', 'items']],
    ['/orders/42/items/', ['orders', '42', 'items']],
  ])('splits %j into %j', (path, segments) => {
    expect(splitPathSegments(path)).toEqual(segments);
  });
});

describe('compilePathPattern', () => {
  it.each([
    ['/', '/', true],
    ['/', '/a', false],
    ['/orders', '/orders', true],
    ['/orders', '/orders/', true],
    ['/orders', '/Orders', false],
    ['/orders', '/orders/42', false],
    ['/orders', '/order', false],
    ['/orders/', '/orders', true],
    ['/orders/42', '/orders/42', true],
  ])('matches literal pattern %s against %s: %s', (pattern, path, expected) => {
    expect(matchesRequest(pattern, path)).toBe(expected);
  });

  it.each([
    ['/orders/*', '/orders/42', true],
    ['/orders/*', '/orders/42/', true],
    ['/orders/*', '/orders', false],
    ['/orders/*', '/orders/', false],
    ['/orders/*', '/orders/42/items', false],
    ['/orders/*/items', '/orders/42/items', true],
    ['/orders/*/items', '/orders/items', false],
    ['/*', '/', false],
    ['/*', '/a', true],
    ['/*/*', '/a/b', true],
    ['/*/*', '/a', false],
  ])('matches one segment with "*" in %s against %s: %s', (pattern, path, expected) => {
    expect(matchesRequest(pattern, path)).toBe(expected);
  });

  it.each([
    ['/admin/**', '/admin', true],
    ['/admin/**', '/admin/', true],
    ['/admin/**', '/admin/x', true],
    ['/admin/**', '/admin/x/y', true],
    ['/admin/**', '/administrator', false],
    ['/admin/**', '/', false],
    ['/**', '/', true],
    ['/**', '/a/b/c', true],
    ['/**/health', '/health', true],
    ['/**/health', '/a/b/health', true],
    ['/**/health', '/a/b/health/x', false],
    ['/**/health', '/healthz', false],
    ['/api/**/items', '/api/items', true],
    ['/api/**/items', '/api/v1/orders/items', true],
    ['/api/**/items', '/api/v1/orders', false],
    ['/api/**/items/*', '/api/x/items/7', true],
    ['/api/**/items/*', '/api/x/items', false],
    ['/**/a/**/b/**', '/a/b', true],
    ['/**/a/**/b/**', '/x/a/y/z/b/w', true],
    ['/**/a/**/b/**', '/x/b/y/a', false],
    ['/**/a/*/a/**', '/a/a/a/a', true],
    ['/**/a/*/a/**', '/a/a', false],
    ['/**/**', '/', true],
    ['/**/**/x', '/y/x', true],
  ])('matches any number of segments with "**" in %s against %s: %s', (pattern, path, expected) => {
    expect(matchesRequest(pattern, path)).toBe(expected);
  });

  it.each([
    ['/%7Euser', '/~user', true],
    ['/~user', '/%7euser', true],
    ['/%41dmin', '/Admin', true],
    ['/caf%c3%a9', '/caf%C3%A9', true],
    ['/caf%C3%A9', '/caf%c3%a9', true],
    ['/a%3bb', '/a;b', false],
    ['/a%3bb', '/a%3Bb', true],
    ['/a;b', '/a;b', true],
    ['/a"b', '/a%22b', true],
    ['/a%2e%2e', '/a..', true],
  ])('normalizes literal pattern %s the way it normalizes %s: %s', (pattern, path, expected) => {
    expect(matchesRequest(pattern, path)).toBe(expected);
  });

  it('lets /static/** match "/static/..;/admin" when semicolons are kept, as the default forbids', () => {
    expect(matchesRequest('/static/**', '/static/..;/admin')).toBe(true);
  });

  it('treats an encoded slash in a pattern as part of one segment', () => {
    const pattern = compilePathPattern('/a%2fb');

    expect(pattern.matches(['a%2Fb'])).toBe(true);
    expect(pattern.matches(['a', 'b'])).toBe(false);
  });

  it('does not let "*" match an empty segment of an unnormalized path', () => {
    expect(compilePathPattern('/a/*/b').matches(['a', '', 'b'])).toBe(false);
  });

  it('keeps the pattern as written in source', () => {
    expect(compilePathPattern('/Orders/%7e/**').source).toBe('/Orders/%7e/**');
  });

  it.each([
    ['/**/**/**/**/**/x', 'a', false],
    ['/**/**/**/**/**/x', 'x', true],
    ['/**/a/**/a/**/a/**/a/**/b', 'a', false],
    ['/**/*/**/*/**/*/**/*/**/b', 'a', false],
  ])('decides %s against 200 segments of %s quickly', (source, segment, expected) => {
    const pattern = compilePathPattern(source);
    const segments = Array.from({ length: 200 }, () => segment);

    const startedAt = performance.now();
    for (let run = 0; run < 100; run++) expect(pattern.matches(segments)).toBe(expected);
    const elapsedMs = performance.now() - startedAt;

    expect(elapsedMs).toBeLessThan(500);
  });

  it.each([
    ['', 'a path pattern must start with "/"'],
    ['orders', 'a path pattern must start with "/"'],
    ['*', 'a path pattern must start with "/"'],
    ['**', 'a path pattern must start with "/"'],
    ['http://x/a', 'a path pattern must start with "/"'],
    ['/orders/**x', '"**" must be a whole segment'],
    ['/orders/x**', '"**" must be a whole segment'],
    ['/***', '"**" must be a whole segment'],
    ['/a*b', '"*" must be a whole segment'],
    ['/orders/*.json', '"*" must be a whole segment'],
    ['/a/./b', '"." and ".." segments are not allowed, encoded or not'],
    ['/a/..', '"." and ".." segments are not allowed, encoded or not'],
    ['/.', '"." and ".." segments are not allowed, encoded or not'],
    ['/a/%2e', '"." and ".." segments are not allowed, encoded or not'],
    ['/a/%2E%2e/b', '"." and ".." segments are not allowed, encoded or not'],
    ['/a/.%2e', '"." and ".." segments are not allowed, encoded or not'],
    ['//a', 'empty segment ("//")'],
    ['/a//b', 'empty segment ("//")'],
    ['/a//', 'empty segment ("//")'],
    ['/a?b', 'a path pattern cannot contain "?" or "#"'],
    ['/a#b', 'a path pattern cannot contain "?" or "#"'],
    ['/a%2', 'invalid percent-escape'],
    ['/a%zz', 'invalid percent-escape'],
    ['/a b', 'space in path'],
    ['/a\tb', 'control character in path'],
    ['/a\\b', 'backslash in path'],
    ['/café', 'non-ASCII character in path'],
    ['/a%00', 'encoded control character in path'],
    ['/orders/%0A', 'encoded control character in path'],
    ['/a%7f', 'encoded control character in path'],
  ])('refuses pattern %j: %s', (source, message) => {
    expect(() => compilePathPattern(source)).toThrow(new PatternError(source, message));
  });

  it('names the refused pattern on the error', () => {
    const error = captureError(() => compilePathPattern('/orders/**x'));

    expect(error).toBeInstanceOf(PatternError);
    expect(error).toMatchObject({ name: 'PatternError', pattern: '/orders/**x' });
  });
});

function captureError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
