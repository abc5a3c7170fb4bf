import {
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { Identity } from '../pipeline/decision.js';
import type { ReasonCode } from '../pipeline/reasons.js';
import type { JwtProvider } from './jwt-provider.js';
import { KeysUnavailableError } from './key-set.js';
import type { VerifiedToken } from './token-cache.js';

export type TokenFailureReason = Extract<
  ReasonCode,
  | 'token_malformed'
  | 'token_algorithm_not_allowed'
  | 'token_key_unknown'
  | 'token_signature_invalid'
  | 'token_issuer_invalid'
  | 'token_audience_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_claims_invalid'
  | 'provider_unavailable'
  | 'internal_error'
>;

export type VerifyOutcome =
  | { readonly ok: true; readonly verified: VerifiedToken }
  | { readonly ok: false; readonly reason: TokenFailureReason; readonly message: string };

/**
 * Verifies a JWS compact token against one provider (RFC 7519 §7.2, RFC 8725 §3): signature with
 * a key of the provider's set, `alg` in its allow-list, `iss`, `aud` (string or array), `exp`
 * required, `nbf` and `iat` with the provider's clock skew. jose does the JOSE work; this
 * function turns its errors into reason codes and the payload into an Identity.
 */
export async function verifyJwt(
  token: string,
  provider: JwtProvider,
  nowSeconds: number,
): Promise<VerifyOutcome> {
  const options: JWTVerifyOptions = {
    issuer: provider.issuer,
    audience: provider.audiences as string[],
    algorithms: provider.algorithms as string[],
    clockTolerance: provider.clockSkewSeconds,
    currentDate: new Date(nowSeconds * 1000),
    requiredClaims: ['exp'],
    ...(provider.maxTokenAgeSeconds === undefined
      ? {}
      : { maxTokenAge: provider.maxTokenAgeSeconds }),
  };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, provider.keys.getKey, options));
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) return classifyFailure(error, token);
    try {
      payload = await verifyWithCandidates(token, error, options);
    } catch (candidateError) {
      return classifyFailure(candidateError, token);
    }
  }

  // jose checks iat only together with maxTokenAge; a token issued in the future is as suspect
  // as one not yet valid (RFC 7519 §4.1.6 leaves this to the application).
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + provider.clockSkewSeconds) {
    return fail('token_not_yet_valid', 'token iat is in the future');
  }
  return toVerifiedToken(payload, provider);
}

/**
 * A token without `kid` matches every key of its type, as during a rotation when the provider
 * publishes old and new keys side by side. jose then offers the candidates; try each in turn.
 */
async function verifyWithCandidates(
  token: string,
  candidates: InstanceType<typeof errors.JWKSMultipleMatchingKeys>,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
    }
  }
  throw new errors.JWSSignatureVerificationFailed();
}

function toVerifiedToken(payload: JWTPayload, provider: JwtProvider): VerifyOutcome {
  const { sub, exp, nbf } = payload;
  const clientId = payload.client_id ?? payload.azp;
  // JSON allows 1e400, which parses to Infinity: a token that would never expire.
  if (!Number.isFinite(exp)) return fail('token_claims_invalid', 'exp is not a finite number');
  if (sub !== undefined && typeof sub !== 'string')
    return fail('token_claims_invalid', 'sub is not a string');
  if (clientId !== undefined && typeof clientId !== 'string') {
    return fail('token_claims_invalid', 'client_id is not a string');
  }
  const scopes = readScopes(payload);
  if (scopes === undefined)
    return fail('token_claims_invalid', 'scope is neither a string nor an array of strings');

  // A cached token is reused until expiresAt, so a maximum age has to end it there too.
  const expiresAt =
    provider.maxTokenAgeSeconds === undefined || typeof payload.iat !== 'number'
      ? (exp as number)
      : Math.min(exp as number, payload.iat + provider.maxTokenAgeSeconds);

  const identity: Identity = {
    provider: provider.name,
    issuer: provider.issuer,
    subject: sub,
    clientId,
    scopes,
    claims: payload,
  };
  return { ok: true, verified: { identity, expiresAt, notBefore: nbf } };
}

/** Scopes from `scope` (RFC 9068 §2.2.3, space-separated) or `scp` (an array, or a string). */
function readScopes(payload: JWTPayload): string[] | undefined {
  const value = payload.scope ?? payload.scp;
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope.length > 0);
  if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) return value;
  return undefined;
}

function classifyFailure(error: unknown, token: string): VerifyOutcome {
  if (error instanceof KeysUnavailableError) {
    return fail('provider_unavailable', "the provider's keys are not available");
  }
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat'
      ? fail('token_expired', 'token is older than the provider allows')
      : fail('token_expired', 'token has expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) return classifyClaimFailure(error);
  if (error instanceof errors.JOSEAlgNotAllowed)
    return fail('token_algorithm_not_allowed', 'token alg is not allowed');
  if (error instanceof errors.JWKSNoMatchingKey)
    return fail('token_key_unknown', 'no key matches the token kid');
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return fail('token_signature_invalid', 'token signature is invalid');
  }
  if (error instanceof errors.JOSENotSupported) {
    // jose also raises this for a `crit` parameter it does not know, before it looks at alg;
    // RFC 7515 §4.1.11 makes such a JWS invalid whatever its alg.
    return declaresCritical(token)
      ? fail('token_malformed', 'token requires a header extension that is not supported')
      : fail('token_algorithm_not_allowed', 'token alg is not supported');
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return fail('token_malformed', 'token is not a well-formed JWT');
  }
  if (error instanceof TypeError || error instanceof errors.JOSEError) {
    // jose raises these for keys it cannot use with the token's alg (for example an RSA key
    // published for an EC alg): the token does not verify with any key we trust.
    return fail('token_signature_invalid', 'token does not verify with the matching key');
  }
  return fail('internal_error', 'token verification failed unexpectedly');
}

function classifyClaimFailure(
  error: InstanceType<typeof errors.JWTClaimValidationFailed>,
): VerifyOutcome {
  const missing = error.reason === 'missing';
  switch (error.claim) {
    case 'iss':
      return missing
        ? fail('token_claims_invalid', 'token has no iss')
        : fail('token_issuer_invalid', 'token iss is not accepted');
    case 'aud':
      return missing
        ? fail('token_audience_invalid', 'token has no aud')
        : fail('token_audience_invalid', 'token aud does not name this service');
    // jose reports a missing or non-numeric nbf/iat under the same claim: only a failed time
    // check means "not yet valid".
    case 'nbf':
      if (error.reason !== 'check_failed') break;
      return fail('token_not_yet_valid', 'token is not valid yet');
    case 'iat':
      if (error.reason !== 'check_failed') break;
      return fail('token_not_yet_valid', 'token iat is in the future');
  }
  return fail(
    'token_claims_invalid',
    missing ? `token has no ${error.claim}` : `token ${error.claim} is invalid`,
  );
}

function declaresCritical(token: string): boolean {
  try {
    return decodeProtectedHeader(token).crit !== undefined;
  } catch {
    return false;
  }
}

function fail(reason: TokenFailureReason, message: string): VerifyOutcome {
  return { ok: false, reason, message };
}
