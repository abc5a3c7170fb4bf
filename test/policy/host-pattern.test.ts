import { describe, expect, it } from 'vitest';
import { compileHostPattern, normalizeHost } from '../../src/policy/host-pattern.js';
import { PatternError } from '../../src/policy/pattern-error.js';

describe('normalizeHost', () => {
  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['api.example.com:8443', 'api.example.com'],
    ['api.example.com.', 'api.example.com'],
    ['API.example.com.:443', 'api.example.com'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['[::1]', '[::1]'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::1]:443', '[2001:db8::1]'],
    ['[::ffff:10.0.0.1]', '[::ffff:10.0.0.1]'],
    ['', ''],
    ['localhost', 'localhost'],
    ['internal_svc:9000', 'internal_svc'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['a:0', 'a'],
    ['a:65535', 'a'],
    ['a:00080', 'a'],
  ])('normalizes %j to %j', (authority, host) => {
    expect(normalizeHost(authority)).toBe(host);
  });

  // Regression: any text was taken as a host, so "*.example.com" matched names that an upstream
  // or a proxy reads as another host, and ports that no socket can have passed.
  it.each([
    ['a path before the suffix', 'evil.com/.example.com'],
    ['a space', 'a b.example.com'],
    ['a leading empty label', '..example.com'],
    ['a leading dot', '.example.com'],
    ['an empty label inside', 'api..example.com'],
    ['two trailing dots', 'api.example.com..'],
    ['only a dot', '.'],
    ['userinfo', 'x@y.example.com'],
    ['a backslash', 'evil.com\\.example.com'],
    ['a percent-escape', 'a%2eexample.com'],
    ['a query', 'a.example.com?x'],
    ['a fragment', 'a.example.com#x'],
    ['a non-ASCII letter', 'exämple.com'],
    ['the Kelvin sign', 'EXAMPLE\u212A.COM'],
    ['a control character', 'a\u0000.example.com'],
    ['a letter port', 'api.example.com:abc'],
    ['a port above 65535', 'api.example.com:99999'],
    ['a port of six digits', 'api.example.com:000080'],
    ['an empty port', 'api.example.com:'],
    ['a signed port', 'api.example.com:+80'],
    ['two ports', 'api.example.com:80:80'],
    ['a port without a host', ':80'],
    ['an unbracketed IPv6 address', '::1'],
    ['an unclosed IPv6 literal', '[::1'],
    ['a name in brackets', '[example.com]'],
    ['an IPv4 address in brackets', '[10.0.0.1]'],
    ['text after an IPv6 literal', '[::1]x'],
    ['a bad port after an IPv6 literal', '[::1]:99999'],
    ['a zone identifier', '[fe80::1%25eth0]'],
  ])('refuses an authority with %s: %j', (_, authority) => {
    expect(normalizeHost(authority)).toBeUndefined();
  });

  it('returns the authority itself when it is already a lower-case host without port', () => {
    const authority = ['api', 'example', 'com'].join('.');

    expect(normalizeHost(authority)).toBe(authority);
  });
});

describe('compileHostPattern', () => {
  it.each([
    ['api.example.com', 'api.example.com', true],
    ['API.Example.com', 'api.example.com', true],
    ['api.example.com', 'www.example.com', false],
    ['api.example.com', 'api.example.com.evil.net', false],
    ['api.example.com', 'x.api.example.com', false],
    ['10.0.0.1', '10.0.0.1', true],
    ['[::1]', '[::1]', true],
    ['[2001:DB8::1]', '[2001:db8::1]', true],
    ['internal_svc', 'internal_svc', true],
  ])('matches exact pattern %s against %s: %s', (pattern, host, expected) => {
    expect(compileHostPattern(pattern).matches(host)).toBe(expected);
  });

  it.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.Example.COM', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['*.example.com', 'a.example.com.evil.net', false],
    ['*.example.com', 'a.example.org', false],
  ])('matches wildcard pattern %s against %s: %s', (pattern, host, expected) => {
    expect(compileHostPattern(pattern).matches(host)).toBe(expected);
  });

  it.each(['example.com', 'a.b.c', '[::1]', 'localhost', ''])('matches %j with "*"', (host) => {
    expect(compileHostPattern('*').matches(host)).toBe(true);
  });

  it('matches what normalizeHost makes of an authority', () => {
    const pattern = compileHostPattern('*.Example.com');

    expect(pattern.matches(normalizeHost('API.example.com.:8443') as string)).toBe(true);
  });

  it.each([
    ['*.example.com', false],
    ['example.com', false],
    ['[::1]', false],
    ['*', true],
  ])('matches the empty host of a request without Host with %s: %s', (pattern, expected) => {
    expect(compileHostPattern(pattern).matches(normalizeHost('') as string)).toBe(expected);
  });

  it.each(['api.example.com', 'API.Example.com', '10.0.0.1', '[2001:DB8::1]', 'internal_svc'])(
    'accepts %j as an authority too, and the pattern matches what normalizeHost makes of it',
    (source) => {
      const host = normalizeHost(source);

      expect(host).toBeDefined();
      expect(compileHostPattern(source).matches(host as string)).toBe(true);
    },
  );

  it('keeps the pattern as written in source', () => {
    expect(compileHostPattern('*.Example.com').source).toBe('*.Example.com');
  });

  it.each([
    ['', 'a host pattern cannot be empty'],
    ['example.com:443', 'a host pattern cannot have a port'],
    ['*.example.com:443', 'a host pattern cannot have a port'],
    ['[::1]:8080', 'a host pattern cannot have a port'],
    ['::1', 'an IPv6 address is written in brackets, as in "[::1]"'],
    ['https://example.com', 'a host pattern cannot have a scheme'],
    ['example.com/api', 'a host pattern cannot have a path'],
    ['example.com/', 'a host pattern cannot have a path'],
    [' example.com', 'a host pattern cannot contain whitespace or control characters'],
    ['example .com', 'a host pattern cannot contain whitespace or control characters'],
    ['example.com\n', 'a host pattern cannot contain whitespace or control characters'],
    ['example..com', 'empty label in host pattern'],
    ['.example.com', 'empty label in host pattern'],
    ['*.', 'empty label in host pattern'],
    ['example.com.', 'a host pattern cannot end with "." (hosts are compared without it)'],
    ['**', '"*" is allowed only as the whole first label, as in "*.example.com"'],
    ['*example.com', '"*" is allowed only as the whole first label, as in "*.example.com"'],
    ['api.*.com', '"*" is allowed only as the whole first label, as in "*.example.com"'],
    ['*.*.example.com', '"*" is allowed only as the whole first label, as in "*.example.com"'],
    ['example.*', '"*" is allowed only as the whole first label, as in "*.example.com"'],
    ['a*.example.com', '"*" is allowed only as the whole first label, as in "*.example.com"'],
    ['user@example.com', 'a host label may hold only letters, digits, "-" and "_"'],
    ['exämple.com', 'a host label may hold only letters, digits, "-" and "_"'],
    ['[::1', 'not a valid IPv6 literal'],
    ['[example.com]', 'not a valid IPv6 literal'],
    ['[10.0.0.1]', 'not a valid IPv6 literal'],
    ['[::1]x', 'not a valid IPv6 literal'],
  ])('refuses pattern %j: %s', (source, message) => {
    expect(() => compileHostPattern(source)).toThrow(new PatternError(source, message));
  });
});
