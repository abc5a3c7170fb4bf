/** What a redacted header value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Words that mark a header as carrying a credential wherever they appear in its name:
 * `x-forwarded-access-token`, `x-id-token`, `x-amzn-oidc-data`, `x-goog-iap-jwt-assertion`,
 * `x-api-key`... Broad on purpose: a header wrongly hidden costs a debugging session, a header
 * wrongly shown leaks a credential into every log store downstream.
 */
const SENSITIVE_NAME_PARTS = [
  'authorization',
  'auth',
  'token',
  'cookie',
  'secret',
  'password',
  'passwd',
  'session',
  'api-key',
  'apikey',
  'key',
  'signature',
  'jwt',
  'credential',
  'saml',
  'oidc',
];

const SENSITIVE_NAME = new RegExp(SENSITIVE_NAME_PARTS.join('|'), 'i');

/**
 * Headers that hold a request target or URL, whose query or fragment may carry a token
 * (`?access_token=`, RFC 6750 §2.3). They are logged without it.
 */
const URL_HEADERS = new Set([
  ':path',
  'x-envoy-original-path',
  'x-original-uri',
  'x-original-url',
  'x-forwarded-uri',
  'referer',
]);

/** A JWS or JWE in compact form: its header is base64url JSON, so it begins with `eyJ`. */
const COMPACT_JWT = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\./;

/**
 * Request headers as they may appear in a debug log line. A header is replaced by "[redacted]"
 * when its name is one of `credentialHeaders` (the providers' configured credential headers, in
 * lower case) or contains one of the sensitive words, or when its value holds a compact JWT;
 * URL-bearing headers such as `:path` lose their query and fragment.
 */
export function redactHeaders(
  headers: Readonly<Record<string, string>>,
  credentialHeaders: ReadonlySet<string>,
): Record<string, string> {
  // A null-prototype record, like the input: a header named "__proto__" stays plain data.
  const redacted: Record<string, string> = Object.create(null);
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string;
    const lowerName = name.toLowerCase();
    // ":authority" contains "auth" but names the host, which every decision line logs anyway.
    if (
      lowerName !== ':authority' &&
      (credentialHeaders.has(lowerName) || SENSITIVE_NAME.test(name))
    ) {
      redacted[name] = REDACTED;
      continue;
    }

    if (URL_HEADERS.has(lowerName)) redacted[name] = redactPath(value);
    else redacted[name] = COMPACT_JWT.test(value) ? REDACTED : value;
  }
  return redacted;
}

/**
 * A request target or URL as it may appear in a log line: without its query and fragment, and
 * "[redacted]" when a compact JWT sits in the path itself (`/magic-link/eyJ...`).
 */
export function redactPath(target: string): string {
  const end = target.search(/[?#]/);
  const path = end < 0 ? target : target.slice(0, end);
  return COMPACT_JWT.test(path) ? REDACTED : path;
}
