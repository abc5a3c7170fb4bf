import { describe, expect, it } from 'vitest';
import { compileHostPattern, normalizeHost } from '../../src/policy/host-pattern.js';
import { PatternError } from '../../src/policy/pattern-error.js';

describe('normalizeHost', () => {
  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['api.example.com:8443', 'api.example.com'],
    ['api.example.com:', 'api.example.com'],
    ['api.example.com.', 'api.example.com'],
    ['API.example.com.:443', 'api.example.com'],
    ['api.example.com..', 'api.example.com.'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['[::1]', '[::1]'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::1]:443', '[2001:db8::1]'],
    ['', ''],
    ['localhost', 'localhost'],
  ])('normalizes %j to %j', (authority, host) => {
    expect(normalizeHost(authority)).toBe(host);
  });

  it('lower-cases ASCII only, so the Kelvin sign never becomes "k"', () => {
    expect(normalizeHost('EXAMPLE\u212A.COM')).toBe('example\u212A.com');
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

    expect(pattern.matches(normalizeHost('API.example.com.:8443'))).toBe(true);
  });

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
  ])('refuses pattern %j: %s', (source, message) => {
    expect(() => compileHostPattern(source)).toThrow(new PatternError(source, message));
  });
});
