import { constants, type KeyObject, verify } from 'node:crypto';
import type { ASYMMETRIC_ALGORITHMS } from '../config/schema.js';

/** A JWS `alg` tollgate verifies: the asymmetric ones its configuration accepts. */
export type JwsAlgorithmName = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** How one `alg` verifies with node:crypto, and which published keys may serve it. */
export interface JwsAlgorithm {
  /** `kty` of the JWKs that may verify it (RFC 7518 §6.1, RFC 8037 §2). */
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** `crv` those JWKs must name, for EC and OKP keys. */
  readonly crv: string | undefined;
  /** Digest handed to crypto.verify; null for EdDSA, which hashes the message itself. */
  readonly hash: string | null;
  readonly padding: number | undefined;
  /** RSASSA-PSS salt length in bytes: the digest's length (RFC 7518 §3.5). */
  readonly saltLength: number | undefined;
  /** Length of an ECDSA signature, r and s each padded to the curve size (RFC 7518 §3.4). */
  readonly signatureBytes: number | undefined;
  /** What node:crypto reports for a key that fits: its type, and its curve for EC. */
  readonly keyType: 'rsa' | 'ec' | 'ed25519';
  readonly namedCurve: string | undefined;
}

/** RFC 7518 §3.3: RSA keys shorter than this must not be used, as jose also refuses. */
const MIN_RSA_MODULUS_BITS = 2048;

function rsa(hash: string, saltLength?: number): JwsAlgorithm {
  return {
    kty: 'RSA',
    crv: undefined,
    hash,
    padding:
      saltLength === undefined ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_PSS_PADDING,
    saltLength,
    signatureBytes: undefined,
    keyType: 'rsa',
    namedCurve: undefined,
  };
}

function ecdsa(
  crv: string,
  namedCurve: string,
  hash: string,
  signatureBytes: number,
): JwsAlgorithm {
  return {
    kty: 'EC',
    crv,
    hash,
    padding: undefined,
    saltLength: undefined,
    signatureBytes,
    keyType: 'ec',
    namedCurve,
  };
}

/** RFC 8037 §3.1 and RFC 9864 §2.2: EdDSA with Ed25519 keys; the schema accepts no Ed448. */
const ED25519: JwsAlgorithm = {
  kty: 'OKP',
  crv: 'Ed25519',
  hash: null,
  padding: undefined,
  saltLength: undefined,
  signatureBytes: undefined,
  keyType: 'ed25519',
  namedCurve: undefined,
};

const JWS_ALGORITHMS: Readonly<Record<JwsAlgorithmName, JwsAlgorithm>> = {
  RS256: rsa('sha256'),
  RS384: rsa('sha384'),
  RS512: rsa('sha512'),
  PS256: rsa('sha256', 32),
  PS384: rsa('sha384', 48),
  PS512: rsa('sha512', 64),
  ES256: ecdsa('P-256', 'prime256v1', 'sha256', 64),
  ES384: ecdsa('P-384', 'secp384r1', 'sha384', 96),
  ES512: ecdsa('P-521', 'secp521r1', 'sha512', 132),
  EdDSA: ED25519,
  Ed25519: ED25519,
};

/** Whether `alg` is one tollgate knows how to verify (`none` and HS* never are). */
export function isJwsAlgorithmName(alg: unknown): alg is JwsAlgorithmName {
  return typeof alg === 'string' && Object.hasOwn(JWS_ALGORITHMS, alg);
}

export function jwsAlgorithm(alg: JwsAlgorithmName): JwsAlgorithm {
  return JWS_ALGORITHMS[alg];
}

/**
 * The algs a public key's material can verify: none for an RSA key under 2048 bits or with a
 * degenerate exponent, ES256 only for a P-256 key. Computed once per key, when its key set loads.
 */
export function algorithmsFor(key: KeyObject): ReadonlySet<JwsAlgorithmName> {
  const algorithms = new Set<JwsAlgorithmName>();
  const type = key.asymmetricKeyType;
  const { namedCurve, modulusLength = 0, publicExponent = 0n } = key.asymmetricKeyDetails ?? {};
  for (const [name, algorithm] of Object.entries(JWS_ALGORITHMS)) {
    if (type !== algorithm.keyType || namedCurve !== algorithm.namedCurve) continue;
    if (type === 'rsa' && modulusLength < MIN_RSA_MODULUS_BITS) continue;
    // An exponent of 1 makes every padded digest its own signature: anyone could sign. RSA
    // needs an odd exponent of at least 3 (RFC 8017 §3.1); keys in use have 65537.
    if (type === 'rsa' && (publicExponent < 3n || publicExponent % 2n === 0n)) continue;
    algorithms.add(name as JwsAlgorithmName);
  }
  return algorithms;
}

/**
 * The length of every RSA signature a key makes: its modulus's, in bytes (RFC 8017 §8.1.2 and
 * §8.2.2, step 1). OpenSSL also verifies a PSS signature one leading zero byte short, so a
 * token could be altered while its signature still verifies; the caller refuses any other
 * length first. Undefined for other key types, whose lengths the alg fixes.
 */
export function rsaSignatureBytesOf(key: KeyObject): number | undefined {
  const { modulusLength } = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType !== 'rsa' || modulusLength === undefined) return undefined;
  return Math.ceil(modulusLength / 8);
}

/**
 * Checks a JWS signature (RFC 7515 §5.2 step 8) with a key that `algorithmsFor` says fits
 * `alg`. Synchronous: a few tens of microseconds on the calling thread, against a job on
 * libuv's thread pool and a promise for WebCrypto.
 */
export function verifySignature(
  alg: JwsAlgorithmName,
  key: KeyObject,
  signingInput: Uint8Array,
  signature: Uint8Array,
): boolean {
  const { hash, padding, saltLength, signatureBytes } = JWS_ALGORITHMS[alg];
  if (signatureBytes !== undefined && signature.length !== signatureBytes) return false;

  try {
    return verify(
      hash,
      signingInput,
      { key, padding, saltLength, dsaEncoding: 'ieee-p1363' },
      signature,
    );
  } catch {
    // OpenSSL refuses input it cannot even check (a signature longer than the modulus...): such
    // a signature does not verify, as WebCrypto would also answer.
    return false;
  }
}
