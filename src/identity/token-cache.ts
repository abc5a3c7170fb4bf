import { LRUCache } from 'lru-cache';
import type { Identity } from '../pipeline/decision.js';

/** A token that verified, with the time bounds that still have to hold on each reuse. */
export interface VerifiedToken {
  readonly identity: Identity;
  /** exp, or iat plus the provider's maximum token age when sooner; seconds since the epoch. */
  readonly expiresAt: number;
}

export interface TokenCacheLimits {
  /** Estimated memory the entries may take, in bytes. */
  readonly maxBytes: number;
  /** Longest reuse of one verification, in seconds, whatever the token's exp. */
  readonly maxTtlSeconds: number;
}

const DEFAULT_LIMITS: TokenCacheLimits = { maxBytes: 8 * 1024 * 1024, maxTtlSeconds: 300 };

/**
 * What one cached token keeps alive: the token string, its parsed claims, the identity, and the
 * Decision and response bytes built for it. Measured on Node 20 after a full GC, through the
 * Decider and the encoder: 2.6 KB for a 406-character ES256 token, 2.9 KB for a 662-character
 * RS256 one, that is about one byte per character plus 2.2 KB. Claims grow with the token, so
 * length counts half again.
 */
function estimateBytes(token: string): number {
  return Math.ceil(token.length * 1.5) + ENTRY_BASE_BYTES;
}

/** What a cached token keeps alive besides its own characters, in bytes. */
const ENTRY_BASE_BYTES = 2048;

/**
 * Verified tokens, keyed by the token itself, so a token seen again skips signature checking.
 * Bounded by count and by estimated memory, least recently used first, because tokens carrying
 * large group claims are tens of kilobytes each. An entry never outlives its token's exp nor
 * `maxTtlSeconds`. Only successful verifications are kept: a failure is recomputed, so a key
 * rotation or a provider coming back is seen at once. A token is kept from its second
 * verification on (see SeenOnce).
 */
export class TokenCache {
  readonly #entries: LRUCache<string, VerifiedToken> | undefined;
  readonly #maxTtlMs: number;
  readonly #seenOnce: SeenOnce;

  constructor(maxTokens: number, limits: TokenCacheLimits = DEFAULT_LIMITS) {
    this.#maxTtlMs = limits.maxTtlSeconds * 1000;
    this.#entries =
      maxTokens > 0
        ? new LRUCache({
            max: maxTokens,
            maxSize: limits.maxBytes,
            sizeCalculation: (_verified, token) => estimateBytes(token),
          })
        : undefined;
    // The most tokens the budget can hold, were they all short: the entries' fixed part alone.
    const capacity = Math.min(maxTokens, Math.floor(limits.maxBytes / ENTRY_BASE_BYTES));
    this.#seenOnce = new SeenOnce(capacity);
  }

  /** Whether the token is held, without making it the most recently used. */
  readonly has = (token: string): boolean => this.#entries?.has(token) ?? false;

  get(token: string): VerifiedToken | undefined {
    return this.#entries?.get(token);
  }

  /** Offers a verified token; true when the cache kept it. */
  set(token: string, verified: VerifiedToken, nowSeconds: number): boolean {
    const ttlMs = Math.min((verified.expiresAt - nowSeconds) * 1000, this.#maxTtlMs);
    if (this.#entries === undefined || !(ttlMs > 0)) return false;
    if (!this.#seenOnce.admit(token)) return false;
    // An entry larger than the whole budget is simply not kept (lru-cache refuses it).
    this.#entries.set(token, verified, { ttl: Math.ceil(ttlMs) });
    return this.#entries.has(token);
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  clear(): void {
    this.#entries?.clear();
  }
}

/**
 * Admission on second sight: a verified token enters the cache the second time it verifies,
 * not the first, the rule CDNs use against "one-hit wonders". A client reuses its access token
 * for minutes, so it pays one more signature check; a stream of tokens each used once (many
 * short-lived clients, or one party replaying many tokens) neither evicts the tokens in use nor
 * churns the heap with entries that are never read again.
 *
 * Tokens seen once are remembered by a 32-bit fingerprint in a fixed table about the size of
 * what the cache can hold, so that a second sight counts only within that window: a token seen
 * again after k other new tokens keeps its slot with a chance of about e^(-k/size). Tokens that
 * come back only after more new tokens than the cache holds would be evicted before they are
 * read (20,000 tokens in turn, against a cache of a few thousand, in the benchmark's cold
 * scenario): a larger table let half of them in, and their entries cost about a tenth of the
 * sidecar's CPU in garbage collection. A collision or an overwritten slot only admits a token
 * early or late, and never lets one through unverified, since only a verified token is offered.
 */
class SeenOnce {
  readonly #slots: Int32Array;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.#slots = new Int32Array(size);
  }

  /** True when the token was seen before (and forgets it); otherwise remembers it. */
  admit(token: string): boolean {
    const fingerprint = fingerprintOf(token);
    // The high half folded in: FNV-1a's low k bits depend on the low k bits of each character
    // only, and a token's characters are base64url's 64.
    const slot = (fingerprint ^ (fingerprint >>> 16)) & (this.#slots.length - 1);
    if (this.#slots[slot] === fingerprint) {
      this.#slots[slot] = 0;
      return true;
    }
    this.#slots[slot] = fingerprint;
    return false;
  }
}

/** Characters a fingerprint reads, from the token's end. */
const FINGERPRINT_CHARACTERS = 64;

/**
 * FNV-1a over the token's last characters, never 0 (an empty slot). They are signature
 * characters, which differ from one token to the next; the whole of a 1 KB token took 1.5 us,
 * on a path that is the sidecar's slowest already.
 */
function fingerprintOf(token: string): number {
  let hash = 0x811c9dc5;
  for (let i = Math.max(0, token.length - FINGERPRINT_CHARACTERS); i < token.length; i++) {
    hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193);
  }
  return hash === 0 ? 1 : hash;
}
