import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../../src/pipeline/reasons.js';

describe('reason codes', () => {
  it('lists in docs/reason-codes.md exactly the codes the code can produce', () => {
    const page = readFileSync(new URL('../../docs/reason-codes.md', import.meta.url), 'utf8');
    const documented = [...page.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1]);

    expect(documented.sort()).toEqual(Object.keys(REASONS).sort());
  });
});
