import {
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import type { Identity } from '../pipeline/decision.js';
import type { ReasonCode } from '../pipeline/reasons.js';
import { isJwsAlgorithmName, type JwsAlgorithmName, verifySignature } from './jws-algorithms.js';
import { checkRegisteredClaims } from './jwt-claims.js';
import type { JwtProvider } from './jwt-provider.js';
import type { KeyLookup, VerificationKey } from './key-set.js';
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

type TokenFailure = {
  readonly ok: false;
  readonly reason: TokenFailureReason;
  readonly message: string;
};

export type VerifyOutcome = { readonly ok: true; readonly verified: VerifiedToken } | TokenFailure;

/** A compact JWS split and decoded; nothing in it is checked yet. */
interface DecodedJws {
  readonly header: ProtectedHeaderParameters;
  readonly claims: JWTPayload;
  /** The header and payload segments and the dot between them (RFC 7515 §5.2 step 8). */
  readonly signingInput: Buffer;
  readonly signature: Uint8Array;
}

/**
 * Verifies a JWS compact token against one provider (RFC 7519 §7.2, RFC 8725 §3): signature with
 * a key of the provider's set, `alg` in its allow-list, `iss`, `aud` (string or array), `exp`
 * required, `nbf` and `iat` with the provider's clock skew. jose decodes the token; node:crypto
 * checks the signature, synchronously, with keys imported when the set loaded.
 *
 * The outcome is a plain value whenever the provider's keys are held: a promise only when a key
 * fetch has to come first (keys not loaded yet, or a `kid` that a refetch may bring).
 *
 * @param claims the token's claims when the caller has decoded them already with jose's
 *   decodeJwt, so that they are not decoded twice.
 */
export function verifyJwt(
  token: string,
  provider: JwtProvider,
  nowSeconds: number,
  claims?: JWTPayload,
): VerifyOutcome | Promise<VerifyOutcome> {
  const jws = decodeJws(token, claims);
  if (jws === undefined) return fail('token_malformed', 'token is not a well-formed JWT');
  const alg = acceptAlgorithm(jws.header, provider);
  if (typeof alg !== 'string') return alg;

  const lookup = provider.keys.lookUp(alg, jws.header.kid);
  if (lookup instanceof Promise) {
    return lookup.then((settled) => verifyWithKeys(jws, alg, settled, provider, nowSeconds));
  }
  return verifyWithKeys(jws, alg, lookup, provider, nowSeconds);
}

/**
 * Exactly three segments (RFC 7515 §7.1), header and payload decoded by jose. A base64url
 * decoder skips whitespace and accepts padding and non-zero trailing bits, so several strings
 * decode to one signature; only the canonical one is taken, and a token cannot
 * be altered while its signature still verifies (RFC 7515 §2, RFC 4648 §3.5).
 */
function decodeJws(token: string, claims: JWTPayload | undefined): DecodedJws | undefined {
  const segments = token.split('.');
  if (segments.length !== 3) return undefined;
  const encodedSignature = segments[2] as string;

  try {
    const header = decodeProtectedHeader(token);
    // Node's own base64url (lenient when decoding, canonical when encoding) is several times
    // faster here than jose's, which goes through atob and btoa on Node 20.
    const signature = Buffer.from(encodedSignature, 'base64url');
    if (signature.toString('base64url') !== encodedSignature) return undefined;
    return {
      header,
      claims: claims ?? decodeJwt(token),
      // Both segments passed jose's base64url decoder, so they are ASCII.
      signingInput: Buffer.from(token.slice(0, token.lastIndexOf('.')), 'latin1'),
      signature,
    };
  } catch {
    return undefined;
  }
}

/** The header's `alg` when the provider allows it and tollgate can verify it. */
function acceptAlgorithm(
  header: ProtectedHeaderParameters,
  provider: JwtProvider,
): JwsAlgorithmName | TokenFailure {
  const { alg, crit } = header;

  if (crit !== undefined) {
    // RFC 7515 §4.1.11: a recipient must refuse a JWS that makes critical an extension it does
    // not understand, and tollgate understands none (RFC 7797's b64 has no use in a JWT).
    const named =
      Array.isArray(crit) &&
      crit.length > 0 &&
      crit.every((name) => typeof name === 'string' && name !== '');
    return named
      ? fail('token_malformed', 'token requires a header extension that is not supported')
      : fail('token_malformed', 'token is not a well-formed JWT');
  }
  if (typeof alg !== 'string' || alg === '') {
    return fail('token_malformed', 'token is not a well-formed JWT');
  }
  // RFC 8725 §3.1: the allow-list, never the token, decides; `none` and HS* are never verified.
  if (!provider.algorithms.includes(alg)) {
    return fail('token_algorithm_not_allowed', 'token alg is not allowed');
  }
  if (!isJwsAlgorithmName(alg)) {
    return fail('token_algorithm_not_allowed', 'token alg is not supported');
  }
  return alg;
}

function verifyWithKeys(
  jws: DecodedJws,
  alg: JwsAlgorithmName,
  lookup: KeyLookup,
  provider: JwtProvider,
  nowSeconds: number,
): VerifyOutcome {
  if (lookup.kind === 'unavailable') {
    return fail('provider_unavailable', "the provider's keys are not available");
  }
  if (lookup.kind === 'no-match') return fail('token_key_unknown', 'no key matches the token kid');
  const refused = checkSignature(jws, alg, lookup.keys);
  if (refused !== undefined) return refused;

  return checkRegisteredClaims(jws.claims, provider, nowSeconds) ?? toVerifiedToken(jws, provider);
}

/**
 * Valid when one of the keys verifies the signature: a token without `kid` matches every key of
 * its type, as during a rotation when the provider publishes old and new keys side by side.
 */
function checkSignature(
  jws: DecodedJws,
  alg: JwsAlgorithmName,
  keys: readonly VerificationKey[],
): TokenFailure | undefined {
  let usable = false;
  for (const candidate of keys) {
    if (!candidate.algorithms.has(alg)) continue;
    usable = true;
    const { rsaSignatureBytes } = candidate;
    if (rsaSignatureBytes !== undefined && jws.signature.length !== rsaSignatureBytes) continue;
    if (verifySignature(alg, candidate.key, jws.signingInput, jws.signature)) return undefined;
  }

  // A key can match by its JWK members and still not serve the alg: an RSA key under 2048 bits.
  return usable
    ? fail('token_signature_invalid', 'token signature is invalid')
    : fail('token_signature_invalid', 'token does not verify with the matching key');
}

function toVerifiedToken({ claims }: DecodedJws, provider: JwtProvider): VerifyOutcome {
  const { sub, exp, iat } = claims;
  const clientId = claims.client_id ?? claims.azp;
  // JSON allows 1e400, which parses to Infinity: a token that would never expire.
  if (!Number.isFinite(exp)) return fail('token_claims_invalid', 'exp is not a finite number');
  if (sub !== undefined && typeof sub !== 'string') {
    return fail('token_claims_invalid', 'sub is not a string');
  }
  if (clientId !== undefined && typeof clientId !== 'string') {
    return fail('token_claims_invalid', 'client_id is not a string');
  }
  const scopes = readScopes(claims);
  if (scopes === undefined) {
    return fail('token_claims_invalid', 'scope is neither a string nor an array of strings');
  }

  // A cached token is reused until expiresAt, so a maximum age has to end it there too.
  const expiresAt =
    provider.maxTokenAgeSeconds === undefined || typeof iat !== 'number'
      ? (exp as number)
      : Math.min(exp as number, iat + provider.maxTokenAgeSeconds);

  const identity: Identity = {
    provider: provider.name,
    issuer: provider.issuer,
    subject: sub,
    clientId,
    scopes,
    claims,
  };
  return { ok: true, verified: { identity, expiresAt } };
}

/** Scopes from `scope` (RFC 9068 §2.2.3, space-separated) or `scp` (an array, or a string). */
function readScopes(claims: JWTPayload): string[] | undefined {
  const value = claims.scope ?? claims.scp;
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope.length > 0);
  if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) return value;
  return undefined;
}

function fail(reason: TokenFailureReason, message: string): TokenFailure {
  return { ok: false, reason, message };
}
