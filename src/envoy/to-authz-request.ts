import { randomUUID } from 'node:crypto';
import type { AuthzRequest } from '../pipeline/authz-request.js';
import { normalizeHost } from '../policy/host-pattern.js';
import type { CheckRequest, HttpRequest } from './messages.js';

export type RequestTranslation =
  | { readonly ok: true; readonly request: AuthzRequest }
  | { readonly ok: false; readonly problem: string; readonly id: string };

/**
 * Turns Envoy's CheckRequest into tollgate's request model. Headers come from
 * `attributes.request.http.header_map` when Envoy sends raw headers (encode_raw_headers), else
 * from the `headers` map; names are lower-cased and repeated headers joined with ",".
 */
export function toAuthzRequest(check: CheckRequest): RequestTranslation {
  if (check.undecodable) {
    return { ok: false, problem: 'the message is not a CheckRequest', id: randomUUID() };
  }
  const http = check.attributes?.request?.http;
  const headers = http === undefined ? Object.create(null) : readHeaders(http);
  const id = headers['x-request-id'] || http?.id || randomUUID();

  if (http === undefined)
    return { ok: false, problem: 'CheckRequest has no HTTP request attributes', id };
  const method = http.method || headers[':method'];
  const path = http.path || headers[':path'];
  const host = http.host || headers[':authority'] || headers.host;
  if (!method) return { ok: false, problem: 'request has no method', id };
  if (!path) return { ok: false, problem: 'request has no path', id };

  return {
    ok: true,
    request: {
      id,
      method: method.toUpperCase(),
      host: host ? normalizeHost(host) : '',
      rawPath: path,
      headers,
    },
  };
}

function readHeaders(http: HttpRequest): Record<string, string> {
  // A null-prototype record: header names such as "__proto__" stay plain data.
  const headers: Record<string, string> = Object.create(null);
  const raw = http.header_map?.headers;
  if (raw !== undefined && raw.length > 0) {
    for (const { key, value, raw_value: rawValue } of raw) {
      if (!key) continue;
      const name = key.toLowerCase();
      const text =
        rawValue !== undefined && rawValue.length > 0 ? rawValue.toString('latin1') : (value ?? '');
      const previous = headers[name];
      headers[name] = previous === undefined ? text : `${previous},${text}`;
    }
    return headers;
  }
  if (http.headers !== undefined) {
    for (const key of Object.keys(http.headers)) {
      headers[key.toLowerCase()] = http.headers[key] as string;
    }
  }
  return headers;
}
