import type { CredentialSource } from './credential-source.js';
import type { KeySet } from './key-set.js';

/** A claim copied into a request header for the upstream on allow. */
export interface ClaimHeader {
  readonly claim: string;
  readonly header: string;
}

/** A trusted issuer of JWT access tokens, as compiled from configuration. */
export interface JwtProvider {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly clockSkewSeconds: number;
  readonly maxTokenAgeSeconds: number | undefined;
  readonly credentials: readonly CredentialSource[];
  readonly claimHeaders: readonly ClaimHeader[];
  readonly keys: KeySet;
}
