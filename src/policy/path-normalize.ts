/**
 * Turns the request target Envoy reports into the single spelling that policy matches against,
 * so that two spellings of one resource can never fall under different rules.
 */

export interface PathOptions {
  /**
   * What to do with `%2F` and `%5C`. `'reject'` refuses the path; `'keep'` leaves them encoded
   * (with upper-case hex) inside their segment. Neither decodes them: a decoded slash would give
   * the path one shape here and another at the upstream.
   */
  readonly encodedSlashes: 'reject' | 'keep';
  /**
   * What to do with `;` and `%3B` in the path (not the query). `'reject'`, the configuration's
   * default, refuses the path; `'keep'` leaves them in their segment, `;` raw and `%3B` encoded.
   * Servlet containers strip path parameters before resolving dot segments, so they read
   * `/static/..;/admin` as `/admin` while this module sees a segment named `..;`. Anything but
   * `'keep'` refuses, so a caller that forgets the option fails closed.
   */
  readonly semicolons: 'reject' | 'keep';
}

/** The canonical path and the raw query (without `?`), or why the path is refused. */
export type NormalizedPath =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly problem: string };

type Refusal = Extract<NormalizedPath, { ok: false }>;

// Refusals are shared constants: refusing costs no allocation and can never echo the input.
const NOT_ROOTED = refusal('path must start with "/"');
const CONTROL_CHARACTER = refusal('control character in path');
const ENCODED_CONTROL_CHARACTER = refusal('encoded control character in path');
const SEMICOLON = refusal('semicolon in path');
const SPACE_CHARACTER = refusal('space in path');
const NON_ASCII_CHARACTER = refusal('non-ASCII character in path');
const BACKSLASH_CHARACTER = refusal('backslash in path');
const INVALID_ESCAPE = refusal('invalid percent-escape');
const ENCODED_SLASH = refusal('encoded slash in path');
const ENCODED_BACKSLASH = refusal('encoded backslash in path');
const CLIMBS_ABOVE_ROOT = refusal('path climbs above the root');

const SLASH_CODE = 0x2f;
const DOT_CODE = 0x2e;
const PERCENT_CODE = 0x25;
const BACKSLASH_CODE = 0x5c;
const SEMICOLON_CODE = 0x3b;
const DELETE_CODE = 0x7f;

// How a raw character of the path is treated; codes of 0x80 and above are NON_ASCII.
const PLAIN = 0;
const UNSAFE = 1;
const PERCENT = 2;
const SLASH = 3;
const BACKSLASH = 4;
const CONTROL = 5;
const SPACE = 6;
const NON_ASCII = 7;
const PARAMETER = 8;

const CHAR_CLASS = buildCharClasses();
const CANONICAL_ESCAPE = buildCanonicalEscapes();

/**
 * Splits `rawPath` into path, query and fragment, then brings the path to canonical form:
 * unreserved escapes decoded, other escapes in upper-case hex, repeated slashes merged and dot
 * segments resolved (RFC 3986 §6.2.2, §5.2.4). Refuses what an attacker could use to make this
 * path differ from the one the upstream sees. The fragment is dropped; the query is returned
 * as sent. A path that is already canonical is returned without being rebuilt.
 */
export function normalizePath(rawPath: string, options: PathOptions): NormalizedPath {
  const fragmentAt = indexOrLength(rawPath, rawPath.indexOf('#'));
  const queryAt = rawPath.indexOf('?');
  const pathEnd = queryAt >= 0 && queryAt < fragmentAt ? queryAt : fragmentAt;
  if (pathEnd === 0 || rawPath.charCodeAt(0) !== SLASH_CODE) return NOT_ROOTED;

  const scan = scanPath(rawPath, pathEnd, options);
  if (typeof scan !== 'string') return scan;

  const path = scan === 'canonical' ? rawPath.slice(0, pathEnd) : rebuildPath(rawPath, pathEnd);
  if (path === undefined) return CLIMBS_ABOVE_ROOT;
  const query = pathEnd === queryAt ? rawPath.slice(queryAt + 1, fragmentAt) : '';
  return { ok: true, path, query };
}

/**
 * Refuses what must never pass, and tells whether the path is already canonical. Runs on every
 * request, so it reads each character once and allocates nothing.
 */
function scanPath(
  raw: string,
  end: number,
  options: PathOptions,
): 'canonical' | 'rebuild' | Refusal {
  let canonical = true;
  let segmentStart = 1;

  for (let i = 1; i < end; i++) {
    const code = raw.charCodeAt(i);
    switch (CHAR_CLASS[code] ?? NON_ASCII) {
      case PLAIN:
        break;
      case SLASH:
        if (canonical && isDotOrEmptySegment(raw, segmentStart, i)) canonical = false;
        segmentStart = i + 1;
        break;
      case PERCENT: {
        const escaped = readEscape(raw, i, end);
        if (escaped < 0) return INVALID_ESCAPE;
        // The promise that control characters never pass must hold for their escapes too: an
        // upstream that decodes "/orders/%00" may cut the path there or split a log line.
        if (escaped < 0x20 || escaped === DELETE_CODE) return ENCODED_CONTROL_CHARACTER;
        if (escaped === SEMICOLON_CODE && options.semicolons !== 'keep') return SEMICOLON;
        if (options.encodedSlashes === 'reject' && escaped === SLASH_CODE) return ENCODED_SLASH;
        if (options.encodedSlashes === 'reject' && escaped === BACKSLASH_CODE) {
          return ENCODED_BACKSLASH;
        }
        canonical = false;
        i += 2;
        break;
      }
      case UNSAFE:
        canonical = false;
        break;
      case PARAMETER:
        if (options.semicolons !== 'keep') return SEMICOLON;
        break;
      case BACKSLASH:
        // Some upstreams treat "\" as "/", so "/admin\x" would be "/admin/x" there but not here.
        return BACKSLASH_CHARACTER;
      case CONTROL:
        return CONTROL_CHARACTER;
      case SPACE:
        return SPACE_CHARACTER;
      default:
        // RFC 3986 §2.1 has clients percent-encode non-ASCII bytes; a raw one is malformed, and
        // an upstream may decode it as something else (Latin-1, a look-alike folded to ASCII).
        return NON_ASCII_CHARACTER;
    }
  }

  // An empty last segment is a trailing slash, which is canonical; a dot segment is not.
  if (canonical && end > segmentStart && isDotOrEmptySegment(raw, segmentStart, end)) {
    canonical = false;
  }
  return canonical ? 'canonical' : 'rebuild';
}

/**
 * Builds the canonical path of one already scanned, so it only transforms; returns undefined
 * when a ".." would climb above the root. Clamping it instead, as RFC 3986 §5.2.4 does, would
 * let "/../admin" pass as "/admin" here while an upstream reads it differently.
 */
function rebuildPath(raw: string, end: number): string | undefined {
  const segments: string[] = [];
  let segment = '';
  let runStart = 1;

  // Each escape is decoded exactly once: "%252e" yields "%25" then "2e", never a dot.
  for (let i = 1; i < end; i++) {
    const code = raw.charCodeAt(i);
    if (code === SLASH_CODE) {
      segment += raw.slice(runStart, i);
      if (!pushSegment(segments, segment)) return undefined;
      segment = '';
      runStart = i + 1;
    } else if (code === PERCENT_CODE) {
      segment += raw.slice(runStart, i) + CANONICAL_ESCAPE[readEscape(raw, i, end)];
      i += 2;
      runStart = i + 1;
    } else if (CHAR_CLASS[code] === UNSAFE) {
      segment += raw.slice(runStart, i) + CANONICAL_ESCAPE[code];
      runStart = i + 1;
    }
  }
  segment += raw.slice(runStart, end);
  if (!pushSegment(segments, segment)) return undefined;

  // "/a/b/", "/a/." and "/a/b/.." all name a directory, so they keep a trailing slash.
  const endsAsDirectory = segment === '' || segment === '.' || segment === '..';
  if (segments.length === 0) return '/';
  return `/${segments.join('/')}${endsAsDirectory ? '/' : ''}`;
}

/** Applies one decoded segment to the output; false when it climbs above the root. */
function pushSegment(segments: string[], segment: string): boolean {
  if (segment === '' || segment === '.') return true;
  if (segment !== '..') {
    segments.push(segment);
    return true;
  }
  return segments.pop() !== undefined;
}

/** The byte a `%XX` escape at `at` stands for, or -1 when it is not two hex digits. */
function readEscape(raw: string, at: number, end: number): number {
  if (at + 2 >= end) return -1;
  const high = hexValue(raw.charCodeAt(at + 1));
  const low = hexValue(raw.charCodeAt(at + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function isDotOrEmptySegment(raw: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0) return true;
  if (length === 1) return raw.charCodeAt(start) === DOT_CODE;
  return (
    length === 2 && raw.charCodeAt(start) === DOT_CODE && raw.charCodeAt(start + 1) === DOT_CODE
  );
}

function indexOrLength(text: string, index: number): number {
  return index < 0 ? text.length : index;
}

function refusal(problem: string): Refusal {
  return Object.freeze({ ok: false, problem });
}

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x7e
  );
}

function buildCharClasses(): Uint8Array {
  const classes = new Uint8Array(0x80).fill(PLAIN);
  for (let code = 0; code < 0x20; code++) classes[code] = CONTROL;
  classes[DELETE_CODE] = CONTROL;
  classes[0x20] = SPACE;
  classes[PERCENT_CODE] = PERCENT;
  classes[SLASH_CODE] = SLASH;
  classes[BACKSLASH_CODE] = BACKSLASH;
  // RFC 3986 §3.3 lets ";" delimit path parameters, which some upstreams strip.
  classes[SEMICOLON_CODE] = PARAMETER;
  // Characters RFC 3986 §3.3 never allows raw in a path. Clients send some of them anyway;
  // encoding them makes `/a"b` and `/a%22b` one path, as they are to an upstream that decodes.
  for (const character of '"<>[]^`{|}') classes[character.charCodeAt(0)] = UNSAFE;
  return classes;
}

/** For each byte, its canonical spelling in a path: the character if unreserved, else `%XX`. */
function buildCanonicalEscapes(): readonly string[] {
  return Array.from({ length: 0x100 }, (_, byte) =>
    isUnreserved(byte)
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
  );
}
