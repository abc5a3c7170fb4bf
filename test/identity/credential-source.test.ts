import { describe, expect, it } from 'vitest';
import {
  type CredentialSource,
  describeSource,
  lookUpCredential,
} from '../../src/identity/credential-source.js';

const BEARER: CredentialSource = { kind: 'header', header: 'authorization', scheme: 'Bearer' };
const BARE_HEADER: CredentialSource = {
  kind: 'header',
  header: 'x-access-token',
  scheme: undefined,
};
const COOKIE: CredentialSource = { kind: 'cookie', cookie: 'access_token' };

/** Shaped like a compact JWS; lookUpCredential checks syntax only, never the signature. */
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';
const OTHER_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTIifQ.b3RoZXI';

describe('lookUpCredential from a header with a scheme', () => {
  it('skips the syntax check only for a token it is told is known', () => {
    const odd = 'not,a/b64token';
    const known = (token: string) => token === odd;

    expect(lookUpCredential({ authorization: `Bearer ${odd}` }, BEARER, known)).toEqual({
      kind: 'found',
      token: odd,
    });
    expect(lookUpCredential({ authorization: `Bearer ${odd}` }, BEARER).kind).toBe('malformed');
    expect(lookUpCredential({ authorization: 'Bearer a,b' }, BEARER, known).kind).toBe('malformed');
  });

  it.each([
    ['the scheme as configured', `Bearer ${TOKEN}`],
    ['a lower-case scheme', `bearer ${TOKEN}`],
    ['an upper-case scheme', `BEARER ${TOKEN}`],
    ['several spaces after the scheme', `Bearer   ${TOKEN}`],
    ['trailing spaces after the token', `Bearer ${TOKEN}  `],
    ['a tab after the token', `Bearer ${TOKEN}\t`],
    ['a tab between the scheme and the token', `Bearer \t${TOKEN}`],
    ['base64 padding at the end of the token', 'Bearer dG9rZW4='],
  ])('finds the token given %s', (_, authorization) => {
    const lookup = lookUpCredential({ authorization }, BEARER);

    expect(lookup).toEqual({
      kind: 'found',
      token: authorization.slice(authorization.indexOf(' ')).trim(),
    });
  });

  it.each([
    ['the request has no headers', {}],
    ['only another header carries a token', { 'x-access-token': TOKEN }],
    [
      'the header name differs in case from the lower-case key Envoy sends',
      { Authorization: TOKEN },
    ],
  ])('reports absent when %s', (_, headers: Record<string, string>) => {
    expect(lookUpCredential(headers, BEARER)).toEqual({ kind: 'absent' });
  });

  it.each([
    ['another scheme (Basic)', 'Basic dXNlcjpwYXNz'],
    ['the scheme alone', 'Bearer'],
    ['the scheme glued to the token', `Bearer${TOKEN}`],
    ['the scheme and an empty token', 'Bearer '],
    ['the scheme and only spaces', 'Bearer     '],
    ['a scheme that merely starts like Bearer', `Bearerx ${TOKEN}`],
    ['two headers that Envoy joined with ","', `Bearer ${TOKEN},Bearer ${OTHER_TOKEN}`],
    ['two tokens after one scheme, joined with ", "', `Bearer ${TOKEN}, ${OTHER_TOKEN}`],
    ['two tokens separated by a space', `Bearer ${TOKEN} ${OTHER_TOKEN}`],
    ['a quote inside the token', `Bearer "${TOKEN}"`],
    ['a non-ASCII letter inside the token', 'Bearer tok\u00e9n'],
    ['"=" before the end of the token', 'Bearer ab=cd'],
    ['a semicolon inside the token', 'Bearer ab;cd'],
  ])('reports malformed for %s', (_, authorization) => {
    const lookup = lookUpCredential({ authorization }, BEARER);

    expect(lookup.kind).toBe('malformed');
  });

  // Regression: String#trim dropped U+00A0 and other Unicode whitespace around the token, so a
  // value no upstream would read as that token was accepted. Only SP and HTAB are OWS.
  it.each([
    ['a no-break space after the token', `Bearer ${TOKEN}\u00a0`],
    ['a no-break space before the token', `Bearer \u00a0${TOKEN}`],
    ['an ideographic space after the token', `Bearer ${TOKEN}\u3000`],
    ['a line separator after the token', `Bearer ${TOKEN}\u2028`],
    ['a byte order mark after the token', `Bearer ${TOKEN}\ufeff`],
    ['a line feed after the token', `Bearer ${TOKEN}\n`],
    ['a vertical tab after the token', `Bearer ${TOKEN}\v`],
  ])('reports malformed for Unicode whitespace that is not OWS: %s', (_, authorization) => {
    expect(lookUpCredential({ authorization }, BEARER)).toEqual({
      kind: 'malformed',
      problem: 'authorization is not a single token',
    });
  });

  // Regression: String#toLowerCase folds the Kelvin sign to "k", so "To\u212Aen" passed as Token.
  it('compares the scheme by ASCII case only, refusing a Kelvin sign for "k"', () => {
    const source: CredentialSource = { kind: 'header', header: 'authorization', scheme: 'Token' };

    expect(lookUpCredential({ authorization: `TOKEN ${TOKEN}` }, source)).toEqual({
      kind: 'found',
      token: TOKEN,
    });
    expect(lookUpCredential({ authorization: `To\u212Aen ${TOKEN}` }, source).kind).toBe(
      'malformed',
    );
  });

  it('names the header and the scheme but never the token when the scheme differs', () => {
    const lookup = lookUpCredential({ authorization: `Basic ${TOKEN}` }, BEARER);

    expect(lookup).toEqual({
      kind: 'malformed',
      problem: 'authorization header does not use the Bearer scheme',
    });
  });

  it('never repeats the credential in the problem', () => {
    const lookup = lookUpCredential({ authorization: `Bearer ${TOKEN},${OTHER_TOKEN}` }, BEARER);

    expect(lookup.kind === 'malformed' && lookup.problem).toBe(
      'authorization is not a single token',
    );
  });
});

describe('lookUpCredential from a header without a scheme', () => {
  it.each([
    ['the token alone', TOKEN],
    ['the token between spaces', `  ${TOKEN} `],
    ['the token between tabs', `\t${TOKEN}\t`],
  ])('finds %s', (_, value) => {
    expect(lookUpCredential({ 'x-access-token': value }, BARE_HEADER)).toEqual({
      kind: 'found',
      token: TOKEN,
    });
  });

  it('reports absent when only the authorization header is present', () => {
    const lookup = lookUpCredential({ authorization: `Bearer ${TOKEN}` }, BARE_HEADER);

    expect(lookup).toEqual({ kind: 'absent' });
  });

  it.each([
    ['an empty value', ''],
    ['only spaces', '   '],
    ['a scheme in front of the token', `Bearer ${TOKEN}`],
    ['two tokens joined with ","', `${TOKEN},${OTHER_TOKEN}`],
    ['a no-break space after the token', `${TOKEN}\u00a0`],
    ['an en quad before the token', `\u2000${TOKEN}`],
  ])('reports malformed for %s', (_, value) => {
    expect(lookUpCredential({ 'x-access-token': value }, BARE_HEADER).kind).toBe('malformed');
  });
});

describe('lookUpCredential from a cookie', () => {
  it.each([
    ['the only cookie', `access_token=${TOKEN}`],
    ['the middle one of several cookies', `theme=dark; access_token=${TOKEN}; lang=en`],
    ['the last cookie, without a space after ";"', `theme=dark;access_token=${TOKEN}`],
    ['a cookie after one whose name contains ours', `xaccess_token=1; access_token=${TOKEN}`],
    [
      'two cookies of that name with the same token',
      `access_token=${TOKEN}; access_token=${TOKEN}`,
    ],
    ['a value between double quotes (RFC 6265 §4.1.1)', `access_token="${TOKEN}"`],
  ])('finds the token as %s', (_, cookie) => {
    expect(lookUpCredential({ cookie }, COOKIE)).toEqual({ kind: 'found', token: TOKEN });
  });

  it.each([
    ['the request has no cookie header', {}],
    ['the cookie header holds other cookies only', { cookie: 'theme=dark; lang=en' }],
    ['a cookie name merely contains ours', { cookie: 'xaccess_token=1' }],
    ['a cookie name merely starts with ours', { cookie: 'access_token_old=1; theme=dark' }],
    ['the name appears only inside a value', { cookie: 'note=access_token' }],
    ['the token is in the authorization header instead', { authorization: `Bearer ${TOKEN}` }],
  ])('reports absent when %s', (_, headers: Record<string, string>) => {
    expect(lookUpCredential(headers, COOKIE)).toEqual({ kind: 'absent' });
  });

  it.each([
    ['an empty value', 'access_token='],
    ['an empty value among other cookies', 'theme=dark; access_token=; lang=en'],
    ['a value that decodes to two tokens', `access_token=${TOKEN}%2C${OTHER_TOKEN}`],
    ['a value with a space', 'access_token=a%20b'],
    ['a value with a no-break space after it', `access_token=${TOKEN}\u00a0`],
  ])('reports malformed for %s', (_, cookie) => {
    const lookup = lookUpCredential({ cookie }, COOKIE);

    expect(lookup.kind).toBe('malformed');
  });

  it('reports malformed when two cookies of that name carry different tokens', () => {
    const cookie = `access_token=${TOKEN}; theme=dark; access_token=${OTHER_TOKEN}`;

    const lookup = lookUpCredential({ cookie }, COOKIE);

    expect(lookup).toEqual({
      kind: 'malformed',
      problem: 'request carries more than one access_token cookie',
    });
  });

  it('names the cookie but never the value in the problem', () => {
    const lookup = lookUpCredential({ cookie: 'access_token=' }, COOKIE);

    expect(lookup).toEqual({
      kind: 'malformed',
      problem: 'access_token cookie holds an empty credential',
    });
  });
});

describe('describeSource', () => {
  it.each([
    [BEARER, 'header:authorization'],
    [BARE_HEADER, 'header:x-access-token'],
    [{ kind: 'header', header: 'authorization', scheme: 'DPoP' } as const, 'header:authorization'],
    [COOKIE, 'cookie:access_token'],
  ])('names %j as %s', (source: CredentialSource, key) => {
    expect(describeSource(source)).toBe(key);
  });
});
