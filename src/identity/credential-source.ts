import { parseCookie } from 'cookie';
import { lowerCaseAscii } from '../policy/ascii-case.js';

/** Where a provider looks for its token in a request. */
export type CredentialSource =
  | { readonly kind: 'header'; readonly header: string; readonly scheme: string | undefined }
  | { readonly kind: 'cookie'; readonly cookie: string };

export type CredentialLookup =
  | { readonly kind: 'absent' }
  | { readonly kind: 'found'; readonly token: string }
  | { readonly kind: 'malformed'; readonly problem: string };

const ABSENT: CredentialLookup = { kind: 'absent' };

/** RFC 6750 §2.1 b64token, the only token syntax a Bearer header may carry. */
const B64_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Tells whether a token has been verified before, so its syntax need not be checked again. */
export type KnownToken = (token: string) => boolean;

const NONE_KNOWN: KnownToken = () => false;

/**
 * Reads one credential source. A present but unusable credential is `malformed`, not absent.
 * A token `known` says was verified before passed the syntax check then: checking a
 * 700-character token again on every request took 6% of a busy sidecar's time.
 */
export function lookUpCredential(
  headers: Readonly<Record<string, string>>,
  source: CredentialSource,
  known: KnownToken = NONE_KNOWN,
): CredentialLookup {
  if (source.kind === 'cookie') return lookUpCookie(headers.cookie, source.cookie, known);

  const value = headers[source.header];
  if (value === undefined) return ABSENT;
  if (source.scheme === undefined) return toToken(trimOws(value, 0), source.header, known);

  // Schemes compare without regard to ASCII case only (RFC 9110 §11.1), so "To\u212Aen" (Kelvin
  // sign) is not the scheme "Token".
  const space = value.indexOf(' ');
  if (space !== source.scheme.length || !hasScheme(value, source.scheme)) {
    return {
      kind: 'malformed',
      problem: `${source.header} header does not use the ${source.scheme} scheme`,
    };
  }
  return toToken(trimOws(value, space + 1), source.header, known);
}

/** Whether `value` starts with `scheme`, as written (the usual case, checked first) or not. */
function hasScheme(value: string, scheme: string): boolean {
  return (
    value.startsWith(scheme) ||
    lowerCaseAscii(value.slice(0, scheme.length)) === lowerCaseAscii(scheme)
  );
}

function lookUpCookie(
  cookieHeader: string | undefined,
  name: string,
  known: KnownToken,
): CredentialLookup {
  if (cookieHeader === undefined || !cookieHeader.includes(name)) return ABSENT;
  const value = parseCookie(cookieHeader)[name];
  if (value === undefined) return ABSENT;
  // parseCookie keeps the first of several same-named cookies, and Envoy joins repeated cookie
  // headers with "; ": a second, different token must be refused, not silently dropped.
  if (new Set(rawCookieValues(cookieHeader, name)).size > 1) {
    return { kind: 'malformed', problem: `request carries more than one ${name} cookie` };
  }
  // RFC 6265 §4.1.1 lets a cookie value sit between double quotes; they are not part of it.
  const unquoted =
    value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  return toToken(unquoted, `${name} cookie`, known);
}

function rawCookieValues(cookieHeader: string, name: string): string[] {
  return cookieHeader.split(';').flatMap((pair) => {
    const equals = pair.indexOf('=');
    return equals >= 0 && trimOws(pair.slice(0, equals), 0) === name
      ? [trimOws(pair, equals + 1)]
      : [];
  });
}

function toToken(token: string, where: string, known: KnownToken): CredentialLookup {
  if (token.length === 0)
    return { kind: 'malformed', problem: `${where} holds an empty credential` };
  // Envoy joins repeated headers with ","; a comma is not b64token syntax, so two credentials in
  // one request end here rather than being silently reduced to one.
  if (!known(token) && !B64_TOKEN.test(token))
    return { kind: 'malformed', problem: `${where} is not a single token` };
  return { kind: 'found', token };
}

/**
 * `text` from `start` without leading and trailing SP and HTAB, the only whitespace HTTP knows
 * (RFC 9110 §5.6.3 OWS). String#trim would also drop U+00A0 and other Unicode spaces, turning a
 * value no upstream would read as that token into one we accept.
 */
function trimOws(text: string, start: number): string {
  let from = start;
  let to = text.length;
  while (from < to && isOws(text.charCodeAt(from))) from++;
  while (to > from && isOws(text.charCodeAt(to - 1))) to--;
  return from === 0 && to === text.length ? text : text.slice(from, to);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** A stable key naming a source, to tell whether two providers read the same place. */
export function describeSource(source: CredentialSource): string {
  return source.kind === 'cookie' ? `cookie:${source.cookie}` : `header:${source.header}`;
}
