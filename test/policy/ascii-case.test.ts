import { describe, expect, it } from 'vitest';
import { lowerCaseAscii, upperCaseAscii } from '../../src/policy/ascii-case.js';

describe('lowerCaseAscii', () => {
  it.each([
    ['Authorization', 'authorization'],
    ['X-API-KEY', 'x-api-key'],
    ['already-lower', 'already-lower'],
    ['', ''],
    ['A1-_.~Z', 'a1-_.~z'],
  ])('lower-cases %j to %j', (text, lower) => {
    expect(lowerCaseAscii(text)).toBe(lower);
  });

  it.each([
    ['the Kelvin sign', 'X-API-\u212AEY', 'x-api-\u212Aey'],
    ['a dotted capital I', '\u0130D', '\u0130d'],
    ['a Latin-1 capital', 'CAF\u00C9', 'caf\u00C9'],
  ])('leaves %s as it is', (_, text, lower) => {
    expect(lowerCaseAscii(text)).toBe(lower);
  });
});

describe('upperCaseAscii', () => {
  it.each([
    ['get', 'GET'],
    ['Post', 'POST'],
    ['GET', 'GET'],
    ['m-search', 'M-SEARCH'],
  ])('upper-cases %j to %j', (text, upper) => {
    expect(upperCaseAscii(text)).toBe(upper);
  });

  it.each([
    ['a long s, which Unicode upper-cases to "S"', 'po\u017Ft', 'PO\u017FT'],
    ['a dotless i, which Unicode upper-cases to "I"', 'L\u0131NK', 'L\u0131NK'],
    ['the ligature "ﬀ", which Unicode upper-cases to "FF"', 'o\uFB00', 'O\uFB00'],
  ])('leaves %s as it is', (_, text, upper) => {
    expect(upperCaseAscii(text)).toBe(upper);
  });
});
