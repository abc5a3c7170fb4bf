import type { ServiceClientConstructor } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { PROTO_DIR } from './proto-root.js';

export { PROTO_DIR };

/** Decoding options shared by the server and the tests' client. */
export const PROTO_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface ProtoServices {
  /** Client constructors, for `tollgate check`, the tests and the benchmark. */
  readonly AuthorizationClient: ServiceClientConstructor;
  readonly HealthClient: ServiceClientConstructor;
}

/**
 * Loads Envoy's Authorization service and gRPC's Health service from `proto/` with
 * @grpc/proto-loader, for clients (`tollgate check`, the tests). The server builds its own
 * definitions from protobufjs directly (server/service-definitions.ts), sparing start-up the
 * second parse and proto-loader itself.
 */
export function loadProtoServices(): ProtoServices {
  const definition = loadSync(
    ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'],
    PROTO_OPTIONS,
  );
  const grpcObject = loadPackageDefinition(definition);
  const lookup = (path: string) =>
    path
      .split('.')
      .reduce<unknown>(
        (node, key) => (node as Record<string, unknown>)[key],
        grpcObject,
      ) as ServiceClientConstructor;
  const AuthorizationClient = lookup('envoy.service.auth.v3.Authorization');
  const HealthClient = lookup('grpc.health.v1.Health');
  return {
    AuthorizationClient,
    HealthClient,
  };
}
