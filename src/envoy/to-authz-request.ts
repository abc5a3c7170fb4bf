import { randomUUID } from 'node:crypto';
import type { AuthzRequest } from '../pipeline/authz-request.js';
import { lowerCaseAscii, upperCaseAscii } from '../policy/ascii-case.js';
import { normalizeHost } from '../policy/host-pattern.js';
import type { CheckRequest, HeaderValue, HttpRequest } from './messages.js';

export type RequestTranslation =
  | { readonly ok: true; readonly request: AuthzRequest }
  | { readonly ok: false; readonly problem: string; readonly id: string };

/**
 * Longest `x-request-id` kept as the decision id, in characters. Envoy generates 36-character
 * UUIDs; 128 leaves room for other tracing schemes without letting one request fill a log line.
 */
const MAX_REQUEST_ID_LENGTH = 128;

/** Any character but visible ASCII (VCHAR); one class, no quantifier, so nothing to backtrack. */
const NOT_VISIBLE_ASCII = /[^\x21-\x7e]/;

/** RFC 9110 §5.6.2 tchar: the characters of a token such as a method name. */
const TOKEN_CHARACTERS = buildTokenCharacters();

/**
 * Turns Envoy's CheckRequest into tollgate's request model. Headers come from
 * `attributes.request.http.header_map` when Envoy sends raw headers (encode_raw_headers), else
 * from the `headers` map; names are lower-cased (ASCII only) and repeated headers joined with
 * ",", or with "; " for `cookie`. Refuses a method that is not a token and a host that is not a
 * host (see `normalizeHost`).
 */
export function toAuthzRequest(check: CheckRequest): RequestTranslation {
  if (check.undecodable) {
    return { ok: false, problem: 'the message is not a CheckRequest', id: randomUUID() };
  }
  const http = check.attributes?.request?.http;
  const headers = http === undefined ? Object.create(null) : readHeaders(http);
  const id = toDecisionId(headers['x-request-id'] || http?.id);

  if (http === undefined)
    return { ok: false, problem: 'CheckRequest has no HTTP request attributes', id };
  const method = http.method || headers[':method'];
  const path = http.path || headers[':path'];
  if (!method) return { ok: false, problem: 'request has no method', id };
  if (!path) return { ok: false, problem: 'request has no path', id };
  // Methods are tokens (RFC 9110 §9.1); refusing the rest keeps look-alike letters out.
  if (!isToken(method)) return { ok: false, problem: 'invalid method', id };
  const host = normalizeHost(http.host || headers[':authority'] || headers.host || '');
  if (host === undefined) return { ok: false, problem: 'invalid host', id };

  return {
    ok: true,
    request: { id, method: upperCaseAscii(method), host, rawPath: path, headers },
  };
}

function readHeaders(http: HttpRequest): Record<string, string> {
  // A null-prototype record: header names such as "__proto__" stay plain data.
  const headers: Record<string, string> = Object.create(null);
  const raw = http.header_map?.headers;
  if (raw !== undefined && raw.length > 0) {
    for (const header of raw) {
      const { key, value } = header;
      if (!key) continue;
      const name = lowerCaseAscii(key);
      const text = rawValueOf(header) || (value ?? '');
      const previous = headers[name];
      headers[name] = previous === undefined ? text : joinHeaderValues(name, previous, text);
    }
    return headers;
  }
  if (http.headers !== undefined) {
    for (const key of Object.keys(http.headers)) {
      headers[lowerCaseAscii(key)] = http.headers[key] as string;
    }
  }
  return headers;
}

/** `raw_value` as text, one character per byte: Envoy copies header bytes there unchanged. */
function rawValueOf(header: HeaderValue): string | undefined {
  if (header.raw_value_latin1 !== undefined) return header.raw_value_latin1;
  return header.raw_value?.toString('latin1');
}

/**
 * Joins repeated fields with "," (RFC 9110 §5.3), except cookie crumbs, which RFC 9113 §8.2.3
 * joins with "; ": after a "," a cookie parser would read the next cookie as part of a value.
 */
function joinHeaderValues(name: string, previous: string, next: string): string {
  return name === 'cookie' ? `${previous}; ${next}` : `${previous},${next}`;
}

/**
 * The decision id: the request's own id when it is short and visible ASCII, else a fresh UUID.
 * The id is echoed into dynamic metadata and every log line, so a client-chosen one must not
 * make them unbounded or carry control characters. A refused id is replaced, not truncated or
 * escaped, so an id in the logs is always either exactly the client's or plainly ours.
 */
function toDecisionId(candidate: string | undefined): string {
  const usable =
    candidate !== undefined &&
    candidate !== '' &&
    candidate.length <= MAX_REQUEST_ID_LENGTH &&
    !NOT_VISIBLE_ASCII.test(candidate);
  return usable ? candidate : randomUUID();
}

function isToken(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (TOKEN_CHARACTERS[text.charCodeAt(i)] !== 1) return false;
  }
  return text.length > 0;
}

function buildTokenCharacters(): Uint8Array {
  const characters = new Uint8Array(0x80);
  for (let code = 0x30; code <= 0x39; code++) characters[code] = 1;
  for (let code = 0x41; code <= 0x5a; code++) characters[code] = 1;
  for (let code = 0x61; code <= 0x7a; code++) characters[code] = 1;
  for (const character of "!#$%&'*+-.^_`|~") characters[character.charCodeAt(0)] = 1;
  return characters;
}
