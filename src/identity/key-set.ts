import { readFile } from 'node:fs/promises';
import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTHeaderParameters,
} from 'jose';

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

/** A key set whose keys are not (yet) available. Verification maps it to provider_unavailable. */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
}

export type KeySetState = 'loading' | 'ready' | 'failed';

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * One provider's signing keys. jose matches a token's header to a JWK and imports it; this class
 * decides when to fetch: once at start, again on an unknown `kid` (at most once per cooldown,
 * counted from the last attempt so an identity provider outage cannot turn every bad token into
 * a fetch), and on `refresh()`. A failed fetch keeps the keys already held.
 */
export class KeySet {
  #local: LocalKeySet | undefined;
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
          this.#local = createLocalJWKSet(jwks);
          this.#state = 'ready';
          this.#lastError = undefined;
        })
        .catch((error: unknown) => {
          this.#lastError = error instanceof Error ? error.message : String(error);
          if (this.#local === undefined) this.#state = 'failed';
        })
        .finally(() => {
          this.#pending = undefined;
        });
    }
    return this.#pending;
  }

  /** The key resolver handed to jose's `jwtVerify`. */
  readonly getKey = async (
    header: JWTHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<CryptoKey> => {
    if (this.#local === undefined) {
      if (this.#pending !== undefined) await this.#pending;
      else if (this.#coolingDown()) throw new KeysUnavailableError('keys not loaded');
      else await this.refresh();
    }
    const local = this.#local;
    if (local === undefined) throw new KeysUnavailableError('keys not loaded');

    try {
      return await local(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || this.source.kind === 'file') throw error;
      if (this.#coolingDown() && this.#pending === undefined) throw error;
      await this.refresh();
      return (this.#local ?? local)(header, token);
    }
  };

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
  if (!Array.isArray(keys) || keys.some((key) => typeof key !== 'object' || key === null)) {
    throw new Error(`${origin}: key set has no "keys" array of objects`);
  }
  if (keys.some((key) => 'd' in key || 'k' in key)) {
    // A published key set holds public keys only; private or symmetric material means a mistake
    // upstream that we refuse to build on.
    throw new Error(`${origin}: key set contains private or symmetric key material`);
  }
  return value as JSONWebKeySet;
}
