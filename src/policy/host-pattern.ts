/**
 * Host patterns from the policy, compiled once at start-up and matched against the host of a
 * request as `normalizeHost` spells it. Both sides accept the same host syntax, so a pattern
 * can only ever equal, or be a suffix of, a host that a request could really carry.
 */
import { lowerCaseAscii } from './ascii-case.js';
import { PatternError } from './pattern-error.js';

export interface HostPattern {
  /** The pattern as written in the configuration. */
  readonly source: string;
  /** Whether a host already passed through `normalizeHost` falls under the pattern. */
  matches(host: string): boolean;
}

const DOT_CODE = 0x2e;
const COLON_CODE = 0x3a;
const OPEN_BRACKET_CODE = 0x5b;
const CLOSE_BRACKET_CODE = 0x5d;
const MAX_PORT = 65_535;
const MAX_PORT_DIGITS = 5;

/** 1 for letters, digits, "-" and "_": RFC 3986 reg-name characters as DNS and Envoy use them. */
const LABEL_CODES = buildLabelCodes();

/**
 * The host of an `:authority` or `Host` value, in the form patterns are compared with: ASCII
 * lower-case, without port (`[::1]:8080` gives `[::1]`) and without one trailing dot, which
 * names the same DNS host (RFC 1034 §3.1). An empty value (HTTP/1.0 without Host) gives `''`.
 *
 * Returns undefined for anything but a host of RFC 3986 §3.2.2 with an optional port: a
 * reg-name narrowed to letters, digits, "-", "_" and dots between non-empty labels (which
 * covers IPv4), or a bracketed IPv6 literal; a port is 1-5 digits up to 65535. Suffix matching
 * is only safe on such names: "evil.com/.example.com" or "x@y.example.com" end like a
 * subdomain here but name another host at the upstream.
 */
export function normalizeHost(authority: string): string | undefined {
  if (authority === '') return '';

  const hostEnd =
    authority.charCodeAt(0) === OPEN_BRACKET_CODE
      ? scanIpv6Literal(authority)
      : scanRegName(authority);
  if (hostEnd < 0 || !isPortSuffix(authority, hostEnd)) return undefined;

  // scanRegName lets through one trailing dot only, never a host that is nothing but dots.
  const end = authority.charCodeAt(hostEnd - 1) === DOT_CODE ? hostEnd - 1 : hostEnd;
  return lowerCaseAscii(end === authority.length ? authority : authority.slice(0, end));
}

/**
 * Compiles a host pattern: an exact host such as `api.example.com` (compared without regard to
 * case), `*.example.com` for any host one or more labels below `example.com` but not
 * `example.com` itself, or `*` for any host, the empty one included. Throws PatternError for a
 * port, a scheme, a path, whitespace, an empty label or a `*` anywhere else.
 */
export function compileHostPattern(pattern: string): HostPattern {
  if (pattern === '*') return { source: pattern, matches: () => true };

  const problem = findHostPatternProblem(pattern);
  if (problem !== undefined) throw new PatternError(pattern, problem);

  const host = lowerCaseAscii(pattern);
  if (host.startsWith('*.')) {
    // Keeping the dot in the suffix stops "*.example.com" from matching "badexample.com"; and
    // since normalizeHost refuses empty labels, what precedes the suffix is a whole label.
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
    return scanIpv6Literal(host) === host.length ? undefined : 'not a valid IPv6 literal';
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
    if (!isLabel(label)) return 'a host label may hold only letters, digits, "-" and "_"';
  }
  return undefined;
}

/**
 * Where a reg-name host starting at 0 ends (at ":" or the end of the text), or -1 when it is
 * empty, holds a character outside a label, or has an empty label other than the one after a
 * single trailing dot.
 */
function scanRegName(text: string): number {
  let labelLength = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (LABEL_CODES[code] === 1) {
      labelLength++;
    } else if (code === COLON_CODE) {
      break;
    } else if (code !== DOT_CODE || labelLength === 0) {
      return -1;
    } else {
      labelLength = 0;
    }
  }
  return i === 0 ? -1 : i;
}

/**
 * Where a bracketed IPv6 literal starting at 0 ends (after "]"), or -1. Checks the characters
 * and the two colons every IPv6 address has, not the full grammar of RFC 4291 §2.2: a malformed
 * literal can only equal a pattern that this same check has let through.
 */
function scanIpv6Literal(text: string): number {
  let colons = 0;
  for (let i = 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === CLOSE_BRACKET_CODE) return colons >= 2 ? i + 1 : -1;
    if (code === COLON_CODE) colons++;
    else if (code !== DOT_CODE && !isHexDigitCode(code)) return -1;
  }
  return -1;
}

/** True when nothing follows the host, or ":" and a port of 1-5 digits up to 65535. */
function isPortSuffix(text: string, at: number): boolean {
  if (at === text.length) return true;
  const digits = text.length - at - 1;
  if (text.charCodeAt(at) !== COLON_CODE || digits < 1 || digits > MAX_PORT_DIGITS) return false;

  let port = 0;
  for (let i = at + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
    port = port * 10 + (code - 0x30);
  }
  return port <= MAX_PORT;
}

function isLabel(label: string): boolean {
  for (let i = 0; i < label.length; i++) {
    if (LABEL_CODES[label.charCodeAt(i)] !== 1) return false;
  }
  return label.length > 0;
}

function buildLabelCodes(): Uint8Array {
  const codes = new Uint8Array(0x80);
  for (let code = 0x30; code <= 0x39; code++) codes[code] = 1;
  for (let code = 0x41; code <= 0x5a; code++) codes[code] = 1;
  for (let code = 0x61; code <= 0x7a; code++) codes[code] = 1;
  codes[0x2d] = 1;
  codes[0x5f] = 1;
  return codes;
}

function isHexDigitCode(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x61 && code <= 0x66) ||
    (code >= 0x41 && code <= 0x46)
  );
}
