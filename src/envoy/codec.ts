import protobuf from 'protobufjs';
import {
  type CheckRequest,
  type CheckResponse,
  HeaderAppendAction,
  type Struct,
} from './messages.js';
import { loadProtoRoot } from './proto-root.js';

/**
 * The hot path's wire codec for Authorization/Check. @grpc/proto-loader's default codec turns
 * every decoded message into a plain object (`toObject`) and checks every outgoing object
 * (`fromObject`); measured under load, those conversions cost more than tollgate's whole
 * decision on a cached token. Here protobufjs's generated decoder and encoder work on the
 * message objects directly: requests are read as decoded, responses are written as built by
 * `toCheckResponse` (enums as numbers). Same protos, same bytes on the wire.
 */
export interface CheckCodec {
  decodeRequest(bytes: Buffer): CheckRequest;
  encodeResponse(response: CheckResponse): Buffer;
  /** A google.protobuf.Struct's own bytes (no field tag), as it appears inside a message. */
  encodeStruct(struct: Struct): Buffer;
  /** The tag and length that precede a length-delimited field of `length` bytes. */
  encodeFieldHeader(fieldNumber: number, length: number): Buffer;
}

export function createCheckCodec(root: protobuf.Root = loadProtoRoot()): CheckCodec {
  const requestType = root.lookupType('envoy.service.auth.v3.CheckRequest');
  const responseType = root.lookupType('envoy.service.auth.v3.CheckResponse');
  const structType = root.lookupType('google.protobuf.Struct');
  const appendAction = root.lookupEnum('envoy.config.core.v3.HeaderValueOption.HeaderAppendAction');
  for (const [name, value] of Object.entries(HeaderAppendAction)) {
    if (appendAction.values[name] !== value)
      throw new Error(`proto/: HeaderAppendAction.${name} is not ${value}`);
  }

  return {
    decodeRequest: (bytes) => {
      try {
        return requestType.decode(bytes) as unknown as CheckRequest;
      } catch {
        // Answered as a 400 denial by the handler, not as a gRPC error Envoy could fail open on.
        return UNDECODABLE_REQUEST;
      }
    },
    encodeResponse: (response) => toBuffer(responseType.encode(response as never).finish()),
    encodeStruct: (struct) => toBuffer(structType.encode(struct as never).finish()),
    encodeFieldHeader: (fieldNumber, length) =>
      toBuffer(
        protobuf.Writer.create()
          .uint32((fieldNumber << 3) | WIRE_TYPE_LENGTH_DELIMITED)
          .uint32(length)
          .finish(),
      ),
  };
}

const WIRE_TYPE_LENGTH_DELIMITED = 2;

const UNDECODABLE_REQUEST: CheckRequest = Object.freeze({ undecodable: true });

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
