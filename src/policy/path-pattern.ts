/**
 * Path patterns from the policy, compiled once at start-up and matched against the segments of
 * a path that `normalizePath` has made canonical.
 */
import { normalizePath, type PathOptions } from './path-normalize.js';
import { PatternError } from './pattern-error.js';

export { PatternError } from './pattern-error.js';

export interface PathPattern {
  /** The pattern as written in the configuration. */
  readonly source: string;
  /** Whether the segments of a normalized path (see `splitPathSegments`) fall under the pattern. */
  matches(segments: readonly string[]): boolean;
}

/** Matches exactly one non-empty segment. */
const ONE_SEGMENT = '*';
/** Matches zero or more segments. */
const ANY_SEGMENTS = '**';

const PATTERN_PATH_OPTIONS: PathOptions = { encodedSlashes: 'keep', semicolons: 'keep' };

/**
 * Compiles a pattern such as `/orders/*` or `/admin/**`. Literal segments are
 * compared exactly, after the same normalization as request paths, so `/%7Euser` in a pattern
 * matches the request path `/~user`. Throws PatternError for anything a request path could not
 * be, and for `*` mixed with other characters in one segment.
 */
export function compilePathPattern(pattern: string): PathPattern {
  if (!pattern.startsWith('/'))
    throw new PatternError(pattern, 'a path pattern must start with "/"');
  if (pattern.includes('?') || pattern.includes('#')) {
    throw new PatternError(pattern, 'a path pattern cannot contain "?" or "#"');
  }
  if (pattern.includes('//')) throw new PatternError(pattern, 'empty segment ("//")');

  const parts = splitPathSegments(pattern).map((segment) => compileSegment(pattern, segment));
  const fixedCount = parts.filter((part) => part !== ANY_SEGMENTS).length;
  const hasAnySegments = fixedCount < parts.length;

  return {
    source: pattern,
    matches(segments) {
      if (hasAnySegments ? segments.length < fixedCount : segments.length !== fixedCount) {
        return false;
      }
      return matchParts(parts, segments);
    },
  };
}

/**
 * Splits a normalized path into its segments: the leading slash is dropped and one trailing
 * slash ignored, so `/orders/` and `/orders` both give `['orders']` and `/` gives `[]`.
 */
export function splitPathSegments(path: string): string[] {
  const start = path.startsWith('/') ? 1 : 0;
  const end = path.length > start && path.endsWith('/') ? path.length - 1 : path.length;
  if (end <= start) return [];
  return path.slice(start, end).split('/');
}

function compileSegment(pattern: string, segment: string): string {
  if (segment === ONE_SEGMENT || segment === ANY_SEGMENTS) return segment;
  if (segment.includes('**')) throw new PatternError(pattern, '"**" must be a whole segment');
  if (segment.includes('*')) throw new PatternError(pattern, '"*" must be a whole segment');
  // A dot segment would be resolved away in every request path, so it could never match.
  if (isDotSegment(segment)) {
    throw new PatternError(pattern, '"." and ".." segments are not allowed, encoded or not');
  }

  // "keep" because the pattern does not know the listener's options; an encoded slash or a
  // semicolon can only ever match when request paths keep theirs too.
  const normalized = normalizePath(`/${segment}`, PATTERN_PATH_OPTIONS);
  if (!normalized.ok) throw new PatternError(pattern, normalized.problem);
  return normalized.path.slice(1);
}

/** True for `.` and `..`, also when spelled with `%2e`, since those decode to dots. */
function isDotSegment(segment: string): boolean {
  let dots = 0;
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === '.') {
      dots++;
    } else if (segment.slice(i, i + 3).toLowerCase() === '%2e') {
      dots++;
      i += 2;
    } else {
      return false;
    }
  }
  return dots === 1 || dots === 2;
}

/**
 * Wildcard matching over segments, `**` acting as `*` does in a glob and `*` as `?`. After a
 * mismatch only the latest `**` is retried one segment further on: an earlier `**` could not
 * absorb more than the latest one can, so time stays within segments × parts however many
 * `**` the pattern holds.
 */
function matchParts(parts: readonly string[], segments: readonly string[]): boolean {
  let part = 0;
  let segment = 0;
  let retryPart = -1;
  let retrySegment = 0;

  while (segment < segments.length) {
    const expected = parts[part];
    if (expected === ANY_SEGMENTS) {
      retryPart = part;
      retrySegment = segment;
      part++;
    } else if (expected !== undefined && matchesSegment(expected, segments[segment] ?? '')) {
      part++;
      segment++;
    } else if (retryPart >= 0) {
      part = retryPart + 1;
      retrySegment++;
      segment = retrySegment;
    } else {
      return false;
    }
  }

  while (parts[part] === ANY_SEGMENTS) part++;
  return part === parts.length;
}

function matchesSegment(expected: string, actual: string): boolean {
  return expected === ONE_SEGMENT ? actual !== '' : expected === actual;
}
