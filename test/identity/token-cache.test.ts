import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../src/identity/token-cache.js';
import type { Identity } from '../../src/pipeline/decision.js';

const identity: Identity = {
  provider: 'corp',
  issuer: 'https://idp.example',
  subject: 'alice',
  clientId: undefined,
  scopes: [],
  claims: {},
};
const NOW = 1_750_000_000;
const verified = (expiresAt: number) => ({ identity, expiresAt });

/** The cache admits a token the second time it is offered. */
function offerTwice(cache: TokenCache, token: string, expiresAt: number): void {
  cache.set(token, verified(expiresAt), NOW);
  cache.set(token, verified(expiresAt), NOW);
}

describe('TokenCache', () => {
  it('keeps no more large tokens than its memory budget allows', () => {
    const cache = new TokenCache(10_000, { maxBytes: 1024 * 1024, maxTtlSeconds: 300 });
    const large = (index: number) => `${index}.`.padEnd(20_000, 'x');

    for (let index = 0; index < 200; index++) offerTwice(cache, large(index), NOW + 600);

    expect(cache.size).toBeLessThanOrEqual(Math.floor((1024 * 1024) / 30_000) + 1);
    expect(cache.get(large(199))).toBeDefined();
    expect(cache.get(large(0))).toBeUndefined();
  });

  it('does not keep a token larger than the whole budget, and does not throw', () => {
    const cache = new TokenCache(10, { maxBytes: 1000, maxTtlSeconds: 300 });

    offerTwice(cache, 'x'.repeat(5000), NOW + 600);

    expect(cache.size).toBe(0);
  });

  it('does not keep a token whose exp has passed', () => {
    const cache = new TokenCache(10);

    offerTwice(cache, 'token', NOW - 1);

    expect(cache.size).toBe(0);
  });

  it('keeps a token from the second time it verifies', () => {
    const cache = new TokenCache(10);

    const keptFirst = cache.set('token-a', verified(NOW + 600), NOW);
    const afterFirst = cache.get('token-a');
    const keptSecond = cache.set('token-a', verified(NOW + 600), NOW);

    expect([keptFirst, keptSecond]).toEqual([false, true]);
    expect(afterFirst).toBeUndefined();
    expect(cache.get('token-a')).toBeDefined();
  });

  it('keeps the tokens in use while a stream of single-use tokens passes through', () => {
    const cache = new TokenCache(100);
    const inUse = Array.from({ length: 50 }, (_, index) => `in-use-${index}`);
    for (const token of inUse) offerTwice(cache, token, NOW + 600);

    for (let index = 0; index < 10_000; index++) {
      cache.set(`single-use-${index}`, verified(NOW + 600), NOW);
    }

    expect(inUse.filter((token) => cache.get(token) === undefined)).toEqual([]);
    expect(cache.size).toBe(inUse.length);
  });

  it('keeps almost none of a cycle of tokens longer than it could hold until their reuse', () => {
    // 1 MiB holds at most 512 entries: tokens back only after 4,096 others would be evicted
    // before they are read again.
    const cache = new TokenCache(10_000, { maxBytes: 1024 * 1024, maxTtlSeconds: 300 });
    const cycle = Array.from({ length: 4096 }, (_, index) => `cycled-${index}`);

    let kept = 0;
    for (let round = 0; round < 2; round++) {
      for (const token of cycle) if (cache.set(token, verified(NOW + 600), NOW)) kept++;
    }

    expect(kept).toBeLessThan(cycle.length / 100);
  });

  it('keeps a token seen again after fewer new tokens than it holds', () => {
    const cache = new TokenCache(10_000, { maxBytes: 1024 * 1024, maxTtlSeconds: 300 });
    const reused = Array.from({ length: 100 }, (_, index) => `reused-${index}`);

    for (const token of reused) cache.set(token, verified(NOW + 600), NOW);
    for (let index = 0; index < 20; index++) {
      cache.set(`passing-${index}`, verified(NOW + 600), NOW);
    }
    const kept = reused.filter((token) => cache.set(token, verified(NOW + 600), NOW));

    expect(kept.length).toBeGreaterThan(reused.length * 0.7);
  });
});
