import type { ReasonCode } from './reasons.js';

/** Who the caller is, once a credential has verified. */
export interface Identity {
  readonly provider: string;
  readonly issuer: string;
  readonly subject: string | undefined;
  readonly clientId: string | undefined;
  readonly scopes: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
}

/** A header to set on the request that goes upstream, replacing any copy the client sent. */
export interface UpstreamHeader {
  readonly name: string;
  readonly value: string;
}

/** What every Decision may carry, whichever its outcome. */
interface DecisionBase {
  /**
   * Set on a Decision made for one request alone, from an identity the token cache did not
   * keep: no later request brings this object again, so nothing is worth keeping per Decision
   * for it (its encoding, its log bindings). Every other Decision may be shared.
   */
  readonly oneOff?: true;
}

export interface Allow extends DecisionBase {
  readonly allow: true;
  readonly reason: 'allowed';
  readonly rule: string;
  readonly identity: Identity | undefined;
  /** Headers to set for the upstream. */
  readonly setHeaders: readonly UpstreamHeader[];
  /** Header names to strip from the client's request (claim headers we do not set). */
  readonly removeHeaders: readonly string[];
}

export interface Deny extends DecisionBase {
  readonly allow: false;
  readonly reason: Exclude<ReasonCode, 'allowed'>;
  /** HTTP status Envoy returns to the client. */
  readonly status: 400 | 401 | 403 | 503;
  /** Short, safe description: never contains a token, key or secret. */
  readonly message: string;
  readonly rule: string | undefined;
  /** Value of `www-authenticate`, when the status calls for one. */
  readonly challenge: string | undefined;
  readonly identity: Identity | undefined;
}

export type Decision = Allow | Deny;
