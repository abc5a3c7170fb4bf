/**
 * The ceiling: a do-nothing @grpc/grpc-js server that answers every Authorization/Check with the
 * same OK CheckResponse. It loads the same protos with the same options, binds the same kind of
 * address and answers grpc.health.v1 like tollgate, so whatever tollgate costs above it is
 * tollgate's own work. Run as its own process:
 * `node ceiling-server.js <listen> <proto-dir> [<signature.json>]`.
 *
 * With a signature file ({ alg, jwk, token }, RS256 or ES256), it is the *signature-only*
 * server of the cold scenarios: before answering, every Check verifies that token's signature
 * with node:crypto, as tollgate does, and nothing else. No server that verifies each new token
 * can be faster, so its throughput bounds what the cold scenarios can reach on the machine.
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const [listen, protoDir, signatureFile] = process.argv.slice(2);
if (listen === undefined || protoDir === undefined) {
  process.stderr.write('usage: ceiling-server <host:port | unix:/path> <proto-dir>\n');
  process.exit(2);
}

// Same options as src/envoy/proto-definitions.ts, repeated so this process loads nothing of
// tollgate's own code.
const definition = loadSync(
  ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'],
  {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [protoDir],
  },
);
const grpcObject = loadPackageDefinition(definition);
const serviceAt = (path: string) =>
  (
    path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], grpcObject) as {
      service: ServiceDefinition;
    }
  ).service;

const OK_RESPONSE = { status: { code: 0 }, ok_response: {} };

const checkSignature = signatureFile === undefined ? undefined : loadSignature(signatureFile);

const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(serviceAt('envoy.service.auth.v3.Authorization'), {
  Check: (_call: unknown, callback: sendUnaryData<typeof OK_RESPONSE>) => {
    // A failed check is a gRPC error, which the driver counts as a wrong answer.
    if (checkSignature !== undefined && !checkSignature()) {
      callback({ code: 13, details: 'signature did not verify' });
      return;
    }
    callback(null, OK_RESPONSE);
  },
});
server.addService(serviceAt('grpc.health.v1.Health'), {
  Check: (_call: unknown, callback: sendUnaryData<{ status: string }>) =>
    callback(null, { status: 'SERVING' }),
});

server.bindAsync(listen, ServerCredentials.createInsecure(), (error) => {
  if (error !== null) {
    process.stderr.write(`cannot listen on ${listen}: ${error.message}\n`);
    process.exit(1);
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => server.tryShutdown(() => process.exit(0)));
}

/** One token's signature check, as tollgate's jws-algorithms.ts makes it for RS256 and ES256. */
function loadSignature(file: string): () => boolean {
  const { alg, jwk, token } = JSON.parse(readFileSync(file, 'utf8')) as {
    alg: string;
    jwk: JsonWebKey;
    token: string;
  };
  if (alg !== 'RS256' && alg !== 'ES256') throw new Error(`${file}: alg ${alg} is not supported`);
  const key: KeyObject = createPublicKey({ key: jwk, format: 'jwk' });
  const dot = token.lastIndexOf('.');
  const signingInput = Buffer.from(token.slice(0, dot), 'latin1');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const options = { key, dsaEncoding: 'ieee-p1363' as const };
  return () => verify('sha256', signingInput, options, signature);
}
