import type { JWTPayload } from 'jose';
import type { ReasonCode } from '../pipeline/reasons.js';
import type { JwtProvider } from './jwt-provider.js';

export interface ClaimsFailure {
  readonly ok: false;
  readonly reason: Extract<
    ReasonCode,
    | 'token_claims_invalid'
    | 'token_issuer_invalid'
    | 'token_audience_invalid'
    | 'token_expired'
    | 'token_not_yet_valid'
  >;
  readonly message: string;
}

/**
 * Checks the registered claims of a token whose signature verified (RFC 7519 §4.1, RFC 9068 §4):
 * `iss` is the provider's issuer, `aud` names one of its audiences, `exp` is present, and the
 * time claims hold at `nowSeconds` give or take the provider's clock skew. Returns the first
 * failure, or undefined. The checks run in the order jose's jwtVerify ran them, so that a token
 * with several faults keeps the reason it had before tollgate stopped using jwtVerify.
 */
export function checkRegisteredClaims(
  claims: JWTPayload,
  provider: JwtProvider,
  nowSeconds: number,
): ClaimsFailure | undefined {
  const missing = findMissingClaim(claims, provider.maxTokenAgeSeconds !== undefined);
  if (missing !== undefined) return missing;

  if (claims.iss !== provider.issuer) {
    return fail('token_issuer_invalid', 'token iss is not accepted');
  }
  if (!namesAudience(claims.aud, provider.audiences)) {
    return fail('token_audience_invalid', 'token aud does not name this service');
  }
  return checkTimes(claims, provider, nowSeconds);
}

/** Presence, not type: `"iss": null` is present, and then not the issuer. */
function findMissingClaim(claims: JWTPayload, needsIat: boolean): ClaimsFailure | undefined {
  if (!Object.hasOwn(claims, 'iss')) return fail('token_claims_invalid', 'token has no iss');
  if (!Object.hasOwn(claims, 'aud')) return fail('token_audience_invalid', 'token has no aud');
  if (needsIat && !Object.hasOwn(claims, 'iat')) {
    return fail('token_claims_invalid', 'token has no iat');
  }
  // RFC 9068 §2.2 makes exp required in an access token.
  if (!Object.hasOwn(claims, 'exp')) return fail('token_claims_invalid', 'token has no exp');
  return undefined;
}

/** RFC 7519 §4.1.3: a string, or an array of which one member is enough. */
function namesAudience(aud: unknown, audiences: readonly string[]): boolean {
  if (typeof aud === 'string') return audiences.includes(aud);
  if (Array.isArray(aud)) return audiences.some((audience) => aud.includes(audience));
  return false;
}

/**
 * `exp`, `nbf` and `iat` are NumericDates (RFC 7519 §2): a number, which JSON lets reach
 * Infinity (1e400). A non-numeric one is invalid rather than a statement about time.
 */
function checkTimes(
  claims: JWTPayload,
  provider: JwtProvider,
  nowSeconds: number,
): ClaimsFailure | undefined {
  const { exp, nbf, iat } = claims;
  const skew = provider.clockSkewSeconds;
  const maxAgeSeconds = provider.maxTokenAgeSeconds;
  // Whole seconds, as jose compared them; the clock handed in may be fractional.
  const now = Math.floor(nowSeconds);

  if (iat !== undefined && typeof iat !== 'number') {
    return fail('token_claims_invalid', 'token iat is invalid');
  }
  if (nbf !== undefined && typeof nbf !== 'number') {
    return fail('token_claims_invalid', 'token nbf is invalid');
  }
  if (nbf !== undefined && nbf > now + skew) {
    return fail('token_not_yet_valid', 'token is not valid yet');
  }
  if (typeof exp !== 'number') return fail('token_claims_invalid', 'token exp is invalid');
  if (exp <= now - skew) return fail('token_expired', 'token has expired');

  if (iat === undefined) return undefined;
  if (maxAgeSeconds !== undefined && now - iat - skew > maxAgeSeconds) {
    return fail('token_expired', 'token is older than the provider allows');
  }
  // RFC 7519 §4.1.6 leaves a future iat to the application: it is as suspect as a future nbf.
  if (iat > now + skew) return fail('token_not_yet_valid', 'token iat is in the future');
  return undefined;
}

function fail(reason: ClaimsFailure['reason'], message: string): ClaimsFailure {
  return { ok: false, reason, message };
}
