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

describe('TokenCache', () => {
  it('keeps no more large tokens than its memory budget allows', () => {
    const cache = new TokenCache(10_000, { maxBytes: 1024 * 1024, maxTtlSeconds: 300 });
    const large = (index: number) => `${index}.`.padEnd(20_000, 'x');

    for (let index = 0; index < 200; index++) cache.set(large(index), verified(NOW + 600), NOW);

    expect(cache.size).toBeLessThanOrEqual(Math.floor((1024 * 1024) / 30_000) + 1);
    expect(cache.get(large(199))).toBeDefined();
    expect(cache.get(large(0))).toBeUndefined();
  });

  it('does not keep a token larger than the whole budget, and does not throw', () => {
    const cache = new TokenCache(10, { maxBytes: 1000, maxTtlSeconds: 300 });

    cache.set('x'.repeat(5000), verified(NOW + 600), NOW);

    expect(cache.size).toBe(0);
  });

  it('does not keep a token whose exp has passed', () => {
    const cache = new TokenCache(10);

    cache.set('token', verified(NOW - 1), NOW);

    expect(cache.size).toBe(0);
  });
});
