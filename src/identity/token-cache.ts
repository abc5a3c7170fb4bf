import { LRUCache } from 'lru-cache';
import type { Identity } from '../pipeline/decision.js';

/** A token that verified, with the time bounds that still have to hold on each reuse. */
export interface VerifiedToken {
  readonly identity: Identity;
  /** exp, or iat plus the provider's maximum token age when sooner; seconds since the epoch. */
  readonly expiresAt: number;
  /** nbf, in seconds since the epoch, or undefined. */
  readonly notBefore: number | undefined;
}

/**
 * Verified tokens, keyed by the token itself, so a token seen again skips signature checking.
 * Bounded by count (least recently used goes first); an entry never outlives its token's exp.
 * Only successful verifications are kept: a failure is recomputed, so a key rotation or a
 * provider coming back is seen at once.
 */
export class TokenCache {
  readonly #entries: LRUCache<string, VerifiedToken> | undefined;

  constructor(maxTokens: number) {
    this.#entries = maxTokens > 0 ? new LRUCache({ max: maxTokens }) : undefined;
  }

  get(token: string): VerifiedToken | undefined {
    return this.#entries?.get(token);
  }

  set(token: string, verified: VerifiedToken, nowSeconds: number): void {
    const ttlMs = (verified.expiresAt - nowSeconds) * 1000;
    if (this.#entries === undefined || ttlMs <= 0) return;
    this.#entries.set(token, verified, { ttl: Math.ceil(ttlMs) });
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  clear(): void {
    this.#entries?.clear();
  }
}
