/**
 * Host patterns from the policy, compiled once at start-up and matched against the host of a
 * request as `normalizeHost` spells it.
 */
import { PatternError } from './pattern-error.js';

export interface HostPattern {
  /** The pattern as written in the configuration. */
  readonly source: string;
  /** Whether a host already passed through `normalizeHost` falls under the pattern. */
  matches(host: string): boolean;
}

const UPPER_CASE_RUN = /[A-Z]+/g;
const LABEL = /^[a-z0-9_-]+$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/;

/**
 * The host of an `:authority` or `Host` value, in the form patterns are compared with: ASCII
 * lower-case, without port (`[::1]:8080` gives `[::1]`) and without one trailing dot, which
 * names the same DNS host (RFC 1034 §3.1).
 */
export function normalizeHost(authority: string): string {
  let end = authority.length;
  if (authority.startsWith('[')) {
    const closeAt = authority.indexOf(']');
    if (closeAt >= 0) end = closeAt + 1;
  } else {
    const colonAt = authority.indexOf(':');
    if (colonAt >= 0) end = colonAt;
  }
  if (end > 0 && authority.charCodeAt(end - 1) === 0x2e) end--;

  return lowerCaseAscii(end === authority.length ? authority : authority.slice(0, end));
}

/**
 * Compiles a host pattern: an exact host such as `api.example.com` (compared without regard to
 * case), `*.example.com` for any host one or more labels below `example.com` but not
 * `example.com` itself, or `*` for any host. Throws PatternError for a port, a scheme, a path,
 * whitespace, an empty label or a `*` anywhere else.
 */
export function compileHostPattern(pattern: string): HostPattern {
  if (pattern === '*') return { source: pattern, matches: () => true };

  const problem = findHostPatternProblem(pattern);
  if (problem !== undefined) throw new PatternError(pattern, problem);

  const host = lowerCaseAscii(pattern);
  if (host.startsWith('*.')) {
    // Keeping the dot in the suffix stops "*.example.com" from matching "badexample.com".
    const suffix = host.slice(1);
    return {
      source: pattern,
      matches: (candidate) => candidate.length > suffix.length && candidate.endsWith(suffix),
    };
  }
  return { source: pattern, matches: (candidate) => candidate === host };
}

function findHostPatternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'a host pattern cannot be empty';
  for (let i = 0; i < pattern.length; i++) {
    const code = pattern.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f)
      return 'a host pattern cannot contain whitespace or control characters';
  }
  if (pattern.includes('://')) return 'a host pattern cannot have a scheme';
  if (pattern.includes('/')) return 'a host pattern cannot have a path';

  const host = lowerCaseAscii(pattern);
  if (host.startsWith('[')) {
    if (host.includes(']:')) return 'a host pattern cannot have a port';
    return IPV6_LITERAL.test(host) ? undefined : 'not a valid IPv6 literal';
  }
  const colonAt = host.indexOf(':');
  if (colonAt >= 0 && host.includes(':', colonAt + 1)) {
    return 'an IPv6 address is written in brackets, as in "[::1]"';
  }
  if (colonAt >= 0) return 'a host pattern cannot have a port';

  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (name.includes('*'))
    return '"*" is allowed only as the whole first label, as in "*.example.com"';
  if (name.endsWith('.'))
    return 'a host pattern cannot end with "." (hosts are compared without it)';
  for (const label of name.split('.')) {
    if (label === '') return 'empty label in host pattern';
    // International names are written in their punycode ("xn--") form, as Envoy reports them.
    if (!LABEL.test(label)) return 'a host label may hold only letters, digits, "-" and "_"';
  }
  return undefined;
}

/**
 * Lower-cases A-Z only. String#toLowerCase would also fold non-ASCII letters, turning the
 * Kelvin sign "K" into "k", so a look-alike host could equal a real one.
 */
function lowerCaseAscii(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) {
      return text.replace(UPPER_CASE_RUN, (run) => run.toLowerCase());
    }
  }
  return text;
}
