import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The `proto/` folder shipped with the package (same depth from src/ and dist/). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

/**
 * `proto/` as protobufjs JSON, written by the build (scripts/build.mjs) into dist/generated/,
 * where dist/envoy/ and dist/bundle/ both find it. Reading it instead of parsing the .proto
 * text saves start-up about 30 ms. Run from src/ (tests, tsx), there is no such file and
 * `proto/` is parsed.
 */
const PROTO_ROOT_JSON = fileURLToPath(new URL('../generated/proto-root.json', import.meta.url));

/**
 * Envoy's Authorization service and gRPC's Health service, with field names as written in
 * `proto/` (`keepCase`): from `jsonFile` when the build wrote it, else parsed from `proto/`.
 */
export function loadProtoRoot(jsonFile = PROTO_ROOT_JSON): protobuf.Root {
  if (!existsSync(jsonFile)) return parseProtoFiles();
  // fromJSON resolves every type, as the parse path does: a dangling reference fails here.
  return protobuf.Root.fromJSON(JSON.parse(readFileSync(jsonFile, 'utf8')));
}

/** Parses the .proto files; well-known google/protobuf types come with protobufjs. */
export function parseProtoFiles(): protobuf.Root {
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
