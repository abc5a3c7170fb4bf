import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet, JWK } from 'jose';
import {
  algorithmsFor,
  type JwsAlgorithmName,
  jwsAlgorithm,
  rsaSignatureBytesOf,
} from './jws-algorithms.js';

/** Where a provider's keys come from. */
export type KeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'uri'; readonly uri: string }
  | { readonly kind: 'discovery'; readonly issuer: string };

export interface KeySetOptions {
  /** Timeout of one discovery or JWKS fetch, in milliseconds. */
  readonly timeoutMs: number;
  /** Minimum time between two fetches caused by an unknown `kid`, in milliseconds. */
  readonly cooldownMs: number;
  /** Background refresh period of a remote key set, in milliseconds. */
  readonly refreshMs: number;
}

export type KeySetState = 'loading' | 'ready' | 'failed';

/** A published key, imported once for node:crypto, with the JWK members that select it. */
export interface VerificationKey {
  readonly kty: string;
  readonly kid: unknown;
  readonly alg: unknown;
  readonly crv: unknown;
  readonly key: KeyObject;
  /** The algs its material can verify: none for an RSA key under 2048 bits. */
  readonly algorithms: ReadonlySet<JwsAlgorithmName>;
  /** The only length an RSA signature by this key has: the modulus's, in bytes. */
  readonly rsaSignatureBytes: number | undefined;
}

/** The keys that may verify one token, or why there are none. */
export type KeyLookup =
  | { readonly kind: 'found'; readonly keys: readonly VerificationKey[] }
  | { readonly kind: 'no-match' }
  /** The keys were never loaded. */
  | { readonly kind: 'unavailable' };

const NO_MATCH: KeyLookup = { kind: 'no-match' };
const UNAVAILABLE: KeyLookup = { kind: 'unavailable' };

/**
 * One provider's signing keys. This class matches a token's header to the keys, imported once
 * per load, and decides when to fetch: once at start, again on an unknown `kid` (at most once
 * per cooldown, counted from the last attempt so an identity provider outage cannot turn every
 * bad token into a fetch), and on `refresh()`. A failed fetch keeps the keys already held.
 */
export class KeySet {
  #keys: readonly VerificationKey[] | undefined;
  #pending: Promise<void> | undefined;
  #lastAttemptMs = Number.NEGATIVE_INFINITY;
  #state: KeySetState = 'loading';
  #lastError: string | undefined;

  constructor(
    readonly source: KeySource,
    readonly options: KeySetOptions,
  ) {}

  get state(): KeySetState {
    return this.#state;
  }

  /** Why the last fetch failed, safe to log (no key material). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Fetches the keys now, sharing a fetch already under way. Never rejects. */
  refresh(): Promise<void> {
    if (this.#pending === undefined) {
      this.#lastAttemptMs = performance.now();
      this.#pending = this.#load()
        .then((jwks) => {
          this.#keys = importVerificationKeys(jwks);
          this.#state = 'ready';
          this.#lastError = undefined;
        })
        .catch((error: unknown) => {
          this.#lastError = error instanceof Error ? error.message : String(error);
          if (this.#keys === undefined) this.#state = 'failed';
        })
        .finally(() => {
          this.#pending = undefined;
        });
    }
    return this.#pending;
  }

  /**
   * The keys that may verify a token signed with `alg` and naming `kid` (undefined when the
   * header has none). Answered from the keys held, synchronously; a promise only when a fetch
   * has to come first: the keys were never loaded, or no held key matches and a remote set may
   * have published it since (outside the cooldown, or while a fetch is under way). Never rejects.
   */
  lookUp(alg: JwsAlgorithmName, kid: unknown): KeyLookup | Promise<KeyLookup> {
    const held = this.#keys;
    if (held === undefined) {
      if (this.#pending !== undefined) return this.#pending.then(() => this.#lookUpHeld(alg, kid));
      if (this.#coolingDown()) return UNAVAILABLE;
      return this.refresh().then(() => this.#lookUpHeld(alg, kid));
    }

    const keys = selectKeys(held, alg, kid);
    if (keys.length > 0) return { kind: 'found', keys };
    if (this.source.kind === 'file') return NO_MATCH;
    if (this.#coolingDown() && this.#pending === undefined) return NO_MATCH;
    return this.refresh().then(() => this.#lookUpHeld(alg, kid));
  }

  /** After a fetch: the keys held now, without fetching again. */
  #lookUpHeld(alg: JwsAlgorithmName, kid: unknown): KeyLookup {
    if (this.#keys === undefined) return UNAVAILABLE;
    const keys = selectKeys(this.#keys, alg, kid);
    return keys.length > 0 ? { kind: 'found', keys } : NO_MATCH;
  }

  #coolingDown(): boolean {
    return performance.now() - this.#lastAttemptMs < this.options.cooldownMs;
  }

  async #load(): Promise<JSONWebKeySet> {
    switch (this.source.kind) {
      case 'file':
        return parseKeySet(await readFile(this.source.path, 'utf8'), this.source.path);
      case 'uri':
        return parseKeySet(await this.#fetchText(this.source.uri), describeUrl(this.source.uri));
      case 'discovery': {
        const jwksUri = await this.#discoverJwksUri(this.source.issuer);
        return parseKeySet(await this.#fetchText(jwksUri), describeUrl(jwksUri));
      }
    }
  }

  /** OpenID Connect Discovery 1.0 §4: the document's issuer must equal the configured one. */
  async #discoverJwksUri(issuer: string): Promise<string> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const shown = describeUrl(url);
    let document: unknown;
    try {
      document = JSON.parse(await this.#fetchText(url));
    } catch (error) {
      if (error instanceof SyntaxError) throw new Error(`${shown}: response is not JSON`);
      throw error;
    }
    if (typeof document !== 'object' || document === null) {
      throw new Error(`${shown}: response is not a JSON object`);
    }
    const { issuer: advertised, jwks_uri: jwksUri } = document as Record<string, unknown>;
    if (advertised !== issuer) {
      throw new Error(
        `${shown}: issuer ${quoteRemote(advertised)} differs from the configured one`,
      );
    }
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) {
      throw new Error(`${shown}: jwks_uri is missing or not an http(s) URL`);
    }
    return jwksUri;
  }

  async #fetchText(url: string): Promise<string> {
    const shown = describeUrl(url);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw this.#fetchError(shown, error);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`${shown}: HTTP ${response.status}`);
    }
    try {
      return await readCapped(response, MAX_DOCUMENT_BYTES, shown);
    } catch (error) {
      // The timeout covers the body too: a server may send its headers and then stall.
      throw error instanceof DocumentTooLargeError ? error : this.#fetchError(shown, error);
    }
  }

  /** `shown` is the URL as `describeUrl` gives it. */
  #fetchError(shown: string, error: unknown): Error {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return new Error(
      `${shown}: ${timedOut ? `no answer within ${this.options.timeoutMs} ms` : 'fetch failed'}`,
    );
  }
}

/**
 * A URL as error messages (and so log lines) name it: origin and path only. Userinfo
 * (`https://admin:s3cr3t@idp/...`), query (`?api_key=...`) and fragment may hold secrets.
 */
function describeUrl(url: string): string {
  try {
    const { origin, pathname } = new URL(url);
    if (origin !== 'null') return `${origin}${pathname}`;
  } catch {
    // Not a URL the WHATWG parser accepts: strip the same parts by their delimiters.
  }
  return url.replace(/[?#].*$/s, '').replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/]*@/, '$1');
}

/** Longest remote value (an advertised issuer...) quoted into an error message, in characters. */
const MAX_QUOTED_CHARS = 200;

/** A value read from a remote document, quoted and cut short so one answer cannot flood a log. */
function quoteRemote(value: unknown): string {
  const text = String(value);
  if (text.length <= MAX_QUOTED_CHARS) return `"${text}"`;
  let cut = text.slice(0, MAX_QUOTED_CHARS);
  // Do not end on the first half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `"${cut}..." (${text.length} characters)`;
}

/** Largest discovery document or key set accepted, in bytes; real ones are a few kilobytes. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

class DocumentTooLargeError extends Error {}

/** Reads a response body as text, refusing one larger than `maxBytes` without buffering it. */
async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  const tooLarge = () =>
    new DocumentTooLargeError(`${url}: response is larger than ${maxBytes} bytes`);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseKeySet(text: string, origin: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${origin}: key set is not JSON`);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  const notObject = (key: unknown) => typeof key !== 'object' || key === null || Array.isArray(key);
  if (!Array.isArray(keys) || keys.some(notObject)) {
    throw new Error(`${origin}: key set has no "keys" array of objects`);
  }
  if (keys.some((key) => 'd' in key || 'k' in key)) {
    // A published key set holds public keys only; private or symmetric material means a mistake
    // upstream that we refuse to build on.
    throw new Error(`${origin}: key set contains private or symmetric key material`);
  }
  return value as JSONWebKeySet;
}

/**
 * The keys of a set that can verify signatures, each imported once, here rather than per token.
 * A JWK is left out when its `use` or `key_ops` (RFC 7517 §4.2, §4.3) do not allow verifying,
 * as jose's local key sets never offer such a key, or when node:crypto cannot import it (a kty
 * other than RSA, EC or OKP, EC coordinates off the curve...). A token naming a left-out key is
 * then token_key_unknown, as if it were not published, while the rest of the set keeps working.
 * The load itself still succeeds (state 'ready', no lastError): sets legitimately carry
 * encryption keys or key types other consumers use, and a failing load would leave the keys held
 * before in place while the issuer signs with the new ones.
 */
function importVerificationKeys(jwks: JSONWebKeySet): VerificationKey[] {
  const imported: VerificationKey[] = [];
  for (const jwk of jwks.keys) {
    if (!allowsVerifying(jwk)) continue;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      continue;
    }
    const { kty, kid, alg, crv } = jwk as Record<string, unknown>;
    imported.push({
      kty: kty as string,
      kid,
      alg,
      crv,
      key,
      algorithms: algorithmsFor(key),
      rsaSignatureBytes: rsaSignatureBytesOf(key),
    });
  }
  return imported;
}

function allowsVerifying(jwk: JWK): boolean {
  const { use, key_ops: keyOps, ext } = jwk as Record<string, unknown>;
  if (use !== undefined && use !== 'sig') return false;
  if (ext !== undefined && typeof ext !== 'boolean') return false;
  if (keyOps === undefined) return true;
  return (
    Array.isArray(keyOps) &&
    keyOps.every((op, index) => typeof op === 'string' && keyOps.indexOf(op) === index) &&
    keyOps.includes('verify')
  );
}

/**
 * The candidates for a token, as jose's local key sets choose them: a key of the alg's type and
 * curve, with the header's `kid` when it names one, and with the header's `alg` when the JWK
 * names one (RFC 7515 §4.1.4, RFC 7517 §4.4). A token without `kid` may match several keys, as
 * during a rotation: the caller tries each.
 */
function selectKeys(
  keys: readonly VerificationKey[],
  alg: JwsAlgorithmName,
  kid: unknown,
): VerificationKey[] {
  const { kty, crv } = jwsAlgorithm(alg);
  return keys.filter(
    (key) =>
      key.kty === kty &&
      (crv === undefined || key.crv === crv) &&
      (kid === undefined || (typeof kid === 'string' && key.kid === kid)) &&
      (key.alg === undefined || key.alg === alg),
  );
}
