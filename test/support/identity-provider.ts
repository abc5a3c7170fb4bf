/**
 * A real OpenID provider for integration tests, built on `oidc-provider` 9.
 *
 * It listens on 127.0.0.1 (port 0), issues RFC 9068 JWT access tokens through the
 * client-credentials grant, publishes its keys at `jwks_uri`, rotates them on demand and counts
 * JWKS fetches. Nothing is mocked: tollgate sees the same discovery document, JWKS and tokens it
 * would see from a production authorization server.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  SignJWT,
} from 'jose';
// @ts-expect-error -- oidc-provider ships no type declarations; OidcProviderModule types the
// few members used here.
import * as untypedOidcProvider from 'oidc-provider';

export type SigningAlg = 'ES256' | 'RS256';

/** Resource indicators served by default. RFC 8707 §2 requires absolute URIs. */
export const DEFAULT_RESOURCES: readonly string[] = [
  'https://orders-api.example',
  'https://other-api.example',
];

/** Scopes every resource server accepts. */
export const RESOURCE_SCOPES = 'orders:read orders:write admin';

/**
 * Confidential clients registered at every provider. The first is the default for
 * `issueAccessToken`; the second may only ask for `orders:read`.
 */
export const TEST_CLIENTS = [
  {
    clientId: 'orders-service',
    clientSecret: 'orders-service-secret',
    authMethod: 'client_secret_basic',
    scope: RESOURCE_SCOPES,
  },
  {
    clientId: 'reporting-job',
    clientSecret: 'reporting-job-secret',
    authMethod: 'client_secret_post',
    scope: 'orders:read',
  },
] as const;

export interface IdentityProviderOptions {
  /** Algorithm of the first signing key. Default `ES256`. */
  alg?: SigningAlg;
  /** Resource indicators (token audiences) the provider knows; the first is the default. */
  resources?: readonly string[];
  /** Lifetime of issued access tokens, in seconds. Default 600. */
  accessTokenTtlSeconds?: number;
}

export interface IssueAccessTokenOptions {
  /** Space-separated scopes to request. Default: none, so the token has no `scope` claim. */
  scope?: string;
  /** Resource indicator, which becomes `aud`. Default: the provider's first resource. */
  resource?: string;
  /** One of `TEST_CLIENTS`. Default `orders-service`. */
  clientId?: string;
}

export interface RotateKeysOptions {
  /** Stop publishing every earlier key. Default false. */
  dropOld?: boolean;
  /** Algorithm of the new key. Default: the algorithm of the current key. */
  alg?: SigningAlg;
}

export interface SignTokenOptions {
  /** Protected header fields merged over the defaults `{ alg, kid, typ: 'at+jwt' }`. */
  header?: Partial<JWTHeaderParameters>;
}

export interface TestIdentityProvider {
  /** Base URL, exactly as it appears in `iss`, e.g. `http://127.0.0.1:41234`. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** `kid` of the key that signs from now on. */
  readonly currentKid: string;
  /** Requests served at `jwks_uri` since start, across rotations. */
  readonly jwksRequests: number;
  /** Client-credentials grant: a real RFC 9068 access token (`typ: at+jwt`). */
  issueAccessToken(opts?: IssueAccessTokenOptions): Promise<string>;
  /**
   * Signs `claims` exactly as given (no `iss`, `exp` or other claim is added) with the current
   * signing key, for tokens that are validly signed but wrong in some other way.
   */
  signToken(claims: Record<string, unknown>, opts?: SignTokenOptions): Promise<string>;
  /** A new key (new `kid`) signs from now on; earlier keys stay published unless `dropOld`. */
  rotateKeys(opts?: RotateKeysOptions): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly privateKey: CryptoKey;
  /** Private JWK with `kid`, `alg` and `use`, as oidc-provider's keystore wants it. */
  readonly jwk: JWK;
}

interface OidcProvider {
  callback(): RequestListener;
}

interface OidcProviderModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: { InvalidTarget: new (description?: string) => Error };
}

const oidc = untypedOidcProvider as unknown as OidcProviderModule;

const JWKS_PATH = '/jwks';
const TOKEN_PATH = '/token';

/** Starts a provider on 127.0.0.1 on a free port. Call `close()` when done. */
export async function startIdentityProvider(
  opts: IdentityProviderOptions = {},
): Promise<TestIdentityProvider> {
  const resources = opts.resources ?? DEFAULT_RESOURCES;
  const accessTokenTtlSeconds = opts.accessTokenTtlSeconds ?? 600;
  if (resources.length === 0) {
    throw new Error('startIdentityProvider: resources must name at least one resource');
  }

  let keys = [await generateSigningKey(opts.alg ?? 'ES256')];
  let jwksRequests = 0;
  let handler: RequestListener | undefined;

  // One HTTP server for the provider's whole life: rotation swaps the handler behind it, so the
  // issuer URL never changes and no connection is refused mid-test.
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname === JWKS_PATH) {
      jwksRequests += 1;
    }
    if (handler === undefined) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const currentKey = (): SigningKey => keys[0] as SigningKey;
  const install = (): void => {
    handler = buildProvider(issuer, keys, resources, accessTokenTtlSeconds).callback();
  };
  install();

  return {
    issuer,
    jwksUri: `${issuer}${JWKS_PATH}`,
    get currentKid() {
      return currentKey().kid;
    },
    get jwksRequests() {
      return jwksRequests;
    },

    issueAccessToken: (tokenOpts = {}) => requestAccessToken(issuer, tokenOpts),

    async signToken(claims, signOpts = {}) {
      const { alg, kid, privateKey } = currentKey();
      return new SignJWT(claims)
        .setProtectedHeader({ alg, kid, typ: 'at+jwt', ...signOpts.header })
        .sign(privateKey);
    },

    async rotateKeys(rotateOpts = {}) {
      const next = await generateSigningKey(rotateOpts.alg ?? currentKey().alg);
      keys = rotateOpts.dropOld === true ? [next] : [next, ...keys];
      install();
    },

    async close() {
      handler = undefined;
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * Signs `claims` with a fresh key that no provider publishes, for "unknown key" tests.
 * Defaults: `alg` ES256, a random `kid`, `typ` at+jwt.
 */
export async function signForeignToken(
  claims: Record<string, unknown>,
  opts: { alg?: SigningAlg; kid?: string; typ?: string } = {},
): Promise<string> {
  const alg = opts.alg ?? 'ES256';
  const { privateKey } = await generateKeyPair(alg);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: opts.kid ?? randomUUID(), typ: opts.typ ?? 'at+jwt' })
    .sign(privateKey);
}

async function generateSigningKey(alg: SigningAlg): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const exported = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(exported);
  return { kid, alg, privateKey, jwk: { ...exported, kid, alg, use: 'sig' } };
}

function buildProvider(
  issuer: string,
  keys: readonly SigningKey[],
  resources: readonly string[],
  accessTokenTtlSeconds: number,
): OidcProvider {
  const signing = keys[0] as SigningKey;

  return new oidc.Provider(issuer, {
    jwks: { keys: keys.map((key) => key.jwk) },
    // Client scopes must be scopes the provider knows, or registration fails.
    scopes: ['openid', ...RESOURCE_SCOPES.split(' ')],
    clients: TEST_CLIENTS.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      token_endpoint_auth_method: client.authMethod,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: client.scope,
      // The default is RS256, which fails registration when the keystore holds no RSA key.
      id_token_signed_response_alg: signing.alg,
    })),
    adapter: MemoryAdapter,
    ttl: { ClientCredentials: accessTokenTtlSeconds },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resources[0],
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (!resources.includes(resource)) {
            throw new oidc.errors.InvalidTarget(`unknown resource ${resource}`);
          }
          return {
            scope: RESOURCE_SCOPES,
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtlSeconds,
            // Naming the kid pins the signer instead of relying on keystore order.
            jwt: { sign: { alg: signing.alg, kid: signing.kid } },
          };
        },
      },
    },
  });
}

async function requestAccessToken(issuer: string, opts: IssueAccessTokenOptions): Promise<string> {
  const client = TEST_CLIENTS.find((c) => c.clientId === (opts.clientId ?? 'orders-service'));
  if (client === undefined) {
    throw new Error(`issueAccessToken: unknown clientId ${String(opts.clientId)}`);
  }

  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (opts.scope !== undefined) body.set('scope', opts.scope);
  if (opts.resource !== undefined) body.set('resource', opts.resource);
  const headers: Record<string, string> = {};
  if (client.authMethod === 'client_secret_basic') {
    // RFC 6749 §2.3.1: form-encode the id and secret before Base64.
    const credentials = [client.clientId, client.clientSecret].map(encodeURIComponent).join(':');
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  }

  const response = await fetch(`${issuer}${TOKEN_PATH}`, { method: 'POST', headers, body });
  const json = (await response.json()) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };

  if (!response.ok || typeof json.access_token !== 'string') {
    const reason = `${json.error}: ${json.error_description}`;
    throw new Error(`issueAccessToken: token endpoint answered ${response.status} ${reason}`);
  }
  return json.access_token;
}

/**
 * Storage for one model of one provider, so oidc-provider does not warn about its shared
 * development adapter. JWT access tokens are never stored; this holds whatever else it keeps.
 */
class MemoryAdapter {
  private readonly store = new Map<string, Record<string, unknown>>();

  async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
    this.store.set(id, payload);
  }

  async find(id: string): Promise<Record<string, unknown> | undefined> {
    return this.store.get(id);
  }

  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    return [...this.store.values()].find((payload) => payload.uid === uid);
  }

  async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
    return [...this.store.values()].find((payload) => payload.userCode === userCode);
  }

  async consume(id: string): Promise<void> {
    const payload = this.store.get(id);
    if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [id, payload] of this.store) {
      if (payload.grantId === grantId) this.store.delete(id);
    }
  }
}
