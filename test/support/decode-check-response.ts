import { loadSync } from '@grpc/proto-loader';
import { PROTO_OPTIONS } from '../../src/envoy/proto-definitions.js';

const definition = loadSync(['envoy/service/auth/v3/external_auth.proto'], PROTO_OPTIONS);
const check = (
  definition['envoy.service.auth.v3.Authorization'] as Record<
    string,
    { responseDeserialize: (bytes: Buffer) => Record<string, unknown> }
  >
).Check as { responseDeserialize: (bytes: Buffer) => Record<string, unknown> };

/**
 * Decodes CheckResponse bytes the way a standard client does (@grpc/proto-loader, enums as
 * names), independently of tollgate's own codec.
 */
export function decodeCheckResponse(bytes: Buffer): Record<string, unknown> {
  return check.responseDeserialize(bytes);
}
