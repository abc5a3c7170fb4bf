import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { importJWK, type JWK, SignJWT } from 'jose';

/** The demo signing key shipped in examples/. Anyone can read it: it proves nothing. */
const DEMO_KEY_FILE = fileURLToPath(
  new URL('../../examples/demo-keys/DEMO-ONLY-private-jwk.json', import.meta.url),
);

/** Issuer of the example configuration's `demo` provider. */
export const DEMO_ISSUER = 'https://demo-idp.tollgate.invalid';

export interface MintOptions {
  readonly sub: string;
  readonly scope: string;
  readonly aud: string;
  readonly ttl: number;
  readonly key?: string;
}

/** Signs an RFC 9068 access token with the demo key, for trying tollgate out. */
export async function mintDemoToken(options: MintOptions): Promise<string> {
  const jwk = JSON.parse(await readFile(options.key ?? DEMO_KEY_FILE, 'utf8')) as JWK;
  const alg = jwk.alg ?? 'ES256';
  const key = await importJWK(jwk, alg);
  return new SignJWT({ scope: options.scope, client_id: 'demo-client' })
    .setProtectedHeader({ alg, typ: 'at+jwt', ...(jwk.kid === undefined ? {} : { kid: jwk.kid }) })
    .setIssuer(DEMO_ISSUER)
    .setSubject(options.sub)
    .setAudience(options.aud)
    .setIssuedAt()
    .setExpirationTime(`${options.ttl}s`)
    .setJti(crypto.randomUUID())
    .sign(key);
}
