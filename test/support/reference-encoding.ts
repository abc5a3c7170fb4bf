import type { CheckResponse } from '../../src/envoy/messages.js';
import { loadProtoRoot } from '../../src/envoy/proto-root.js';

const responseType = loadProtoRoot().lookupType('envoy.service.auth.v3.CheckResponse');

/**
 * A CheckResponse as protobufjs's generated encoder writes it from the same proto/ files: the
 * reference that tollgate's own writer (check-response-wire.ts) is held byte for byte equal to.
 */
export function encodeWithProtobufjs(response: CheckResponse): Buffer {
  return Buffer.from(responseType.encode(response as never).finish());
}
