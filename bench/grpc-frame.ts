/**
 * gRPC length-prefixed messages (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * one compressed-flag byte (always 0 here), a 4-byte big-endian length, then the protobuf bytes.
 * The load drivers send pre-encoded CheckRequest frames, so no client-side serialization sits
 * in the measured path, and read back only the CheckResponse's `status.code`.
 */
import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

type CheckMethod = MethodDefinition<unknown, unknown>;

/** Loads the CheckRequest serializer the way tollgate loads it (same files, same options). */
export function createCheckRequestEncoder(options: Options): (request: unknown) => Buffer {
  const definition = loadSync('envoy/service/auth/v3/external_auth.proto', options);
  const service = definition['envoy.service.auth.v3.Authorization'] as Record<string, CheckMethod>;
  const check = service.Check as CheckMethod;
  return (request) => toGrpcFrame(check.requestSerialize(request));
}

/** Wraps encoded protobuf bytes into one uncompressed gRPC message. */
export function toGrpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Splits a file of concatenated frames back into one Buffer per frame. */
export function splitGrpcFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  while (offset + 5 <= data.length) {
    const end = offset + 5 + data.readUInt32BE(offset + 1);
    if (end > data.length) throw new Error(`truncated gRPC frame at byte ${offset}`);
    frames.push(data.subarray(offset, end));
    offset = end;
  }
  if (offset !== data.length) throw new Error(`trailing bytes after the last gRPC frame`);
  return frames;
}

/** What a CheckResponse says, read without a full decode. */
export interface CheckVerdict {
  /** google.rpc.Code of `status`; 0 (OK, allow) when the field is absent, as proto3 defines. */
  readonly code: number;
  /** Which member of the `http_response` oneof was set. */
  readonly httpResponse: 'ok_response' | 'denied_response' | 'error_response' | 'none';
}

const HTTP_RESPONSE_FIELDS: Record<number, CheckVerdict['httpResponse']> = {
  2: 'denied_response',
  3: 'ok_response',
  5: 'error_response',
};

/**
 * Reads a response frame's CheckResponse: field 1 `status` (google.rpc.Status, whose field 1 is
 * `code`) and which `http_response` field (2, 3 or 5) is present. Returns undefined for bytes
 * that are not one well-formed, uncompressed frame.
 */
export function readCheckVerdict(frame: Buffer): CheckVerdict | undefined {
  if (frame.length < 5 || frame[0] !== 0 || frame.readUInt32BE(1) !== frame.length - 5) {
    return undefined;
  }
  let code = 0;
  let httpResponse: CheckVerdict['httpResponse'] = 'none';
  const ok = forEachField(frame, 5, frame.length, (field, start, end) => {
    if (field === 1) {
      return forEachField(frame, start, end, (inner, innerStart) => {
        if (inner === 1) code = readVarint(frame, innerStart)?.value ?? Number.NaN;
        return true;
      });
    }
    httpResponse = HTTP_RESPONSE_FIELDS[field] ?? httpResponse;
    return true;
  });
  return ok && !Number.isNaN(code) ? { code, httpResponse } : undefined;
}

/**
 * Rewrites a CheckResponse so `dynamic_metadata` (field 4) appears once. Protobuf merges repeated
 * occurrences of a message field (Envoy's C++ parser does), but protobufjs keeps only the last;
 * a Struct is a map, so joining the occurrences' payloads is the merge.
 */
export function mergeDynamicMetadata(message: Buffer): Buffer {
  const others: Buffer[] = [];
  const metadata: Buffer[] = [];
  let fieldStart = 0;
  const ok = forEachField(message, 0, message.length, (field, start, end) => {
    if (field === 4) metadata.push(message.subarray(start, end));
    else others.push(message.subarray(fieldStart, end));
    fieldStart = end;
    return true;
  });
  if (!ok || metadata.length < 2) return message;
  const payload = Buffer.concat(metadata);
  return Buffer.concat([
    ...others,
    Buffer.from([(4 << 3) | 2]),
    encodeVarint(payload.length),
    payload,
  ]);
}

function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

type FieldVisitor = (field: number, start: number, end: number) => boolean;

/** Walks the fields of a message; for length-delimited fields the visitor sees the payload. */
function forEachField(bytes: Buffer, start: number, end: number, visit: FieldVisitor): boolean {
  let offset = start;
  while (offset < end) {
    const tag = readVarint(bytes, offset);
    if (tag === undefined) return false;
    offset = tag.next;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let valueStart = offset;
    switch (wireType) {
      case 0: {
        const value = readVarint(bytes, offset);
        if (value === undefined) return false;
        offset = value.next;
        break;
      }
      case 1:
        offset += 8;
        break;
      case 2: {
        const length = readVarint(bytes, offset);
        if (length === undefined) return false;
        valueStart = length.next;
        offset = length.next + length.value;
        break;
      }
      case 5:
        offset += 4;
        break;
      default:
        return false;
    }
    if (offset > end || !visit(field, valueStart, offset)) return false;
  }
  return true;
}

/** A base-128 varint, as a JS number (enough for tags, lengths and int32 codes). */
function readVarint(bytes: Buffer, start: number): { value: number; next: number } | undefined {
  let value = 0;
  let multiplier = 1;
  for (let offset = start; offset < bytes.length && offset < start + 10; offset++) {
    const byte = bytes[offset] as number;
    value += (byte & 0x7f) * multiplier;
    if (byte < 0x80) return { value, next: offset + 1 };
    multiplier *= 128;
  }
  return undefined;
}
