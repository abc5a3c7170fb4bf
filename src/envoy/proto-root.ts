import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The `proto/` folder shipped with the package (same depth from src/ and dist/). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

/**
 * Envoy's Authorization service and gRPC's Health service, parsed once from `proto/` with
 * field names as written (`keepCase`). Well-known google/protobuf types come with protobufjs.
 */
export function loadProtoRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    const local = join(PROTO_DIR, target);
    return existsSync(local) ? local : protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'], {
    keepCase: true,
  });
  root.resolveAll();
  return root;
}
