import { writeCheckResponse } from '../../src/envoy/check-response-wire.js';
import type { CheckResponse } from '../../src/envoy/messages.js';
import { loadProtoRoot } from '../../src/envoy/proto-root.js';
import { ProtoWriter } from '../../src/envoy/proto-writer.js';

const responseType = loadProtoRoot().lookupType('envoy.service.auth.v3.CheckResponse');

/**
 * A CheckResponse as protobufjs's generated encoder writes it from the same proto/ files: the
 * reference that tollgate's own writer (check-response-wire.ts) is held byte for byte equal to.
 */
export function encodeWithProtobufjs(response: CheckResponse): Buffer {
  return Buffer.from(responseType.encode(response as never).finish());
}

/** A CheckResponse as tollgate's own writer writes it. */
export function encodeWithWriter(response: CheckResponse): Buffer {
  const writer = new ProtoWriter();
  writeCheckResponse(writer, response);
  return writer.toBuffer();
}
