import { decodeJwt, type JWTPayload } from 'jose';
import type { Identity } from '../pipeline/decision.js';
import type { ReasonCode } from '../pipeline/reasons.js';
import { type KnownToken, lookUpCredential } from './credential-source.js';
import type { JwtProvider } from './jwt-provider.js';
import type { TokenCache } from './token-cache.js';
import { type TokenFailureReason, type VerifyOutcome, verifyJwt } from './verify-jwt.js';

/** Why a request did not establish an identity: no usable credential, or a token that failed. */
export type AuthenticationFailureReason =
  | Extract<ReasonCode, 'credential_missing' | 'credential_malformed'>
  | TokenFailureReason;

export type Authentication =
  | {
      readonly ok: true;
      readonly identity: Identity;
      /**
       * Whether the identity is held in the token cache, so that later requests bring this
       * same object again: work keyed by it is worth keeping only then.
       */
      readonly cached: boolean;
    }
  | {
      readonly ok: false;
      readonly reason: AuthenticationFailureReason;
      /**
       * A fixed text, at most naming a configured header or cookie: never request data, so
       * it is safe to log and the Decider can share one denial per rule and message.
       */
      readonly message: string;
    };

interface FoundToken {
  readonly token: string;
  /** Providers that read the place the token was found in. */
  readonly providers: JwtProvider[];
}

/**
 * Establishes who is calling, accepting tokens of the given providers only. RFC 6750 §2 lets a
 * client send its token one way per request: two different tokens are refused, and a credential
 * that is present but unusable is refused rather than treated as absent.
 */
export function authenticate(
  headers: Readonly<Record<string, string>>,
  providers: readonly JwtProvider[],
  cache: TokenCache,
  nowSeconds: number,
): Authentication | Promise<Authentication> {
  const found = findToken(headers, providers, cache.has);
  if (!('token' in found)) return found;
  const { token } = found;

  // A token seen before is answered without a promise: the common case stays synchronous.
  const cached = cache.get(token);
  const cachedProvider =
    cached && found.providers.find((provider) => provider.name === cached.identity.provider);
  if (cached !== undefined && cachedProvider !== undefined) {
    if (cached.expiresAt <= nowSeconds - cachedProvider.clockSkewSeconds) {
      return { ok: false, reason: 'token_expired', message: 'token has expired' };
    }
    return { ok: true, identity: cached.identity, cached: true };
  }

  const chosen = chooseProvider(token, found.providers);
  if ('ok' in chosen) return chosen;

  // Synchronous too when the provider's keys are held: only a key fetch makes a promise.
  const outcome = verifyJwt(token, chosen.provider, nowSeconds, chosen.claims);
  if (outcome instanceof Promise) {
    return outcome.then((settled) => remember(token, settled, cache, nowSeconds));
  }
  return remember(token, outcome, cache, nowSeconds);
}

function remember(
  token: string,
  outcome: VerifyOutcome,
  cache: TokenCache,
  nowSeconds: number,
): Authentication {
  if (!outcome.ok) return outcome;
  const kept = cache.set(token, outcome.verified, nowSeconds);
  return { ok: true, identity: outcome.verified.identity, cached: kept };
}

function findToken(
  headers: Readonly<Record<string, string>>,
  providers: readonly JwtProvider[],
  known: KnownToken,
): FoundToken | Authentication {
  let token: string | undefined;
  const readers: JwtProvider[] = [];

  for (const provider of providers) {
    for (const source of provider.credentials) {
      const lookup = lookUpCredential(headers, source, known);
      if (lookup.kind === 'absent') continue;
      if (lookup.kind === 'malformed') {
        return { ok: false, reason: 'credential_malformed', message: lookup.problem };
      }
      if (token !== undefined && token !== lookup.token) {
        return {
          ok: false,
          reason: 'credential_malformed',
          message: 'request carries more than one credential',
        };
      }
      token = lookup.token;
      if (!readers.includes(provider)) readers.push(provider);
    }
  }

  if (token === undefined) {
    return { ok: false, reason: 'credential_missing', message: 'a bearer token is required' };
  }
  return { token, providers: readers };
}

/**
 * The token's (not yet verified) `iss` picks the provider to try, even when there is only one:
 * a foreign token is then refused as token_issuer_invalid before its unknown `kid` can cost a
 * JWKS fetch, whatever the number of providers the rule accepts. The claims decoded here are
 * handed to the verifier, which does not decode them again.
 */
function chooseProvider(
  token: string,
  providers: readonly JwtProvider[],
): { readonly provider: JwtProvider; readonly claims: JWTPayload } | Authentication {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    return { ok: false, reason: 'token_malformed', message: 'token is not a well-formed JWT' };
  }
  const provider = providers.find((candidate) => candidate.issuer === claims.iss);
  if (provider === undefined) {
    return { ok: false, reason: 'token_issuer_invalid', message: 'token iss is not accepted' };
  }
  return { provider, claims };
}
