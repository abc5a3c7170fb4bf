/**
 * The ceiling: a do-nothing @grpc/grpc-js server that answers every Authorization/Check with the
 * same OK CheckResponse. It loads the same protos with the same options, binds the same kind of
 * address and answers grpc.health.v1 like tollgate, so whatever tollgate costs above it is
 * tollgate's own work. Run as its own process: `node ceiling-server.js <listen> <proto-dir>`.
 */
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const [listen, protoDir] = process.argv.slice(2);
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

const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(serviceAt('envoy.service.auth.v3.Authorization'), {
  Check: (_call: unknown, callback: sendUnaryData<typeof OK_RESPONSE>) =>
    callback(null, OK_RESPONSE),
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
