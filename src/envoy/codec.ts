import { isAscii } from 'node:buffer';
import protobuf from 'protobufjs';
import {
  type CheckRequest,
  HeaderAppendAction,
  type HeaderValue,
  type HttpRequest,
} from './messages.js';
import { loadProtoRoot } from './proto-root.js';

/**
 * The hot path's wire codec for Authorization/Check. @grpc/proto-loader's default codec turns
 * every decoded message into a plain object (`toObject`) and checks every outgoing object
 * (`fromObject`); measured under load, those conversions cost more than tollgate's whole
 * decision on a cached token. Here requests are read as decoded; responses are written by
 * CheckResponseEncoder (check-response-wire.ts). Same protos, same bytes on the wire.
 */
export interface CheckCodec {
  decodeRequest(bytes: Buffer): CheckRequest;
}

export function createCheckCodec(root: protobuf.Root = loadProtoRoot()): CheckCodec {
  const appendAction = root.lookupEnum('envoy.config.core.v3.HeaderValueOption.HeaderAppendAction');
  for (const [name, value] of Object.entries(HeaderAppendAction)) {
    if (appendAction.values[name] !== value)
      throw new Error(`proto/: HeaderAppendAction.${name} is not ${value}`);
  }

  return {
    decodeRequest: (bytes) => {
      try {
        return decodeCheckRequest(bytes);
      } catch {
        // Answered as a 400 denial by the handler, not as a gRPC error Envoy could fail open on.
        return UNDECODABLE_REQUEST;
      }
    },
  };
}

const WIRE_TYPE_LENGTH_DELIMITED = 2;

/**
 * Reads a CheckRequest, keeping only what tollgate uses: `attributes.request.http`'s id, method,
 * headers, header_map, path and host. Everything else (addresses, time, body, metadata...) is
 * skipped without being decoded. protobufjs's generated decoder built every one of those objects
 * and decoded every string on its own: measured in-process, 8 of the 29 us tollgate spent on a
 * Check with a cached token; this one takes about half as long. Field numbers are those of
 * proto/envoy/service/auth/v3/attribute_context.proto, which the contract test pins. As the
 * protobuf encoding says, a field read twice keeps its last value, a message read twice is
 * merged, and a known field with an unexpected wire type is skipped like an unknown one.
 * Truncated or malformed bytes throw: protobufjs's Reader checks varints, skips and bytes, and
 * readString checks string lengths.
 */
function decodeCheckRequest(bytes: Uint8Array): CheckRequest {
  const buffer = Buffer.isBuffer(bytes) ? bytes : toBuffer(bytes);
  const reader = protobuf.Reader.create(buffer);
  const text: MessageText = { bytes: buffer, latin1: buffer.toString('latin1') };
  const request: CheckRequest = {};
  readFields(reader, bytes.length, (field) => {
    if (field !== 1) return false; // CheckRequest.attributes
    request.attributes ??= {};
    readMessage(reader, (attribute) => {
      if (attribute !== 4) return false; // AttributeContext.request
      const attributes = request.attributes as NonNullable<CheckRequest['attributes']>;
      attributes.request ??= {};
      readMessage(reader, (part) => {
        if (part !== 2) return false; // AttributeContext.Request.http
        const http = (attributes.request as { http?: HttpRequest }).http ?? {};
        (attributes.request as { http?: HttpRequest }).http = http;
        readMessage(reader, (name) => readHttpField(reader, text, name, http));
        return true;
      });
      return true;
    });
    return true;
  });
  return request;
}

/** One field of AttributeContext.HttpRequest; false when it is not one tollgate reads. */
function readHttpField(
  reader: protobuf.Reader,
  text: MessageText,
  field: number,
  http: HttpRequest,
): boolean {
  switch (field) {
    case 1:
      http.id = readString(reader, text);
      return true;
    case 2:
      http.method = readString(reader, text);
      return true;
    case 3: {
      // map<string, string>: an entry of key (1) and value (2), each absent meaning "".
      let key = '';
      let value = '';
      readMessage(reader, (entry) => {
        if (entry === 1) key = readString(reader, text);
        else if (entry === 2) value = readString(reader, text);
        else return false;
        return true;
      });
      // A null-prototype record: a header named "__proto__" stays plain data.
      http.headers ??= Object.create(null) as Record<string, string>;
      http.headers[key] = value;
      return true;
    }
    case 4:
      http.path = readString(reader, text);
      return true;
    case 5:
      http.host = readString(reader, text);
      return true;
    case 13: {
      // config.core.v3.HeaderMap: repeated HeaderValue headers = 1.
      http.header_map ??= {};
      const map = http.header_map;
      readMessage(reader, (entry) => {
        if (entry !== 1) return false;
        const header: HeaderValue = {};
        readMessage(reader, (part) => {
          if (part === 1) header.key = readString(reader, text);
          else if (part === 2) header.value = readString(reader, text);
          else if (part === 3) header.raw_value_latin1 = readLatin1(reader, text);
          else return false;
          return true;
        });
        map.headers ??= [];
        map.headers.push(header);
        return true;
      });
      return true;
    }
    default:
      return false;
  }
}

/**
 * Reads fields up to `end`, handing each length-delimited one to `read`, which reads it and
 * returns true, or returns false to have it skipped. Fields of other wire types are skipped.
 */
function readFields(reader: protobuf.Reader, end: number, read: (field: number) => boolean): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (wireType === WIRE_TYPE_LENGTH_DELIMITED) {
      const start = reader.pos;
      if (read(tag >>> 3)) continue;
      reader.pos = start;
    }
    reader.skipType(wireType);
  }
  if (reader.pos !== end) throw new RangeError('field runs past the end of its message');
}

/**
 * The message being decoded, also read as Latin-1 text once: one character per byte, so an ASCII
 * string field is the substring at the same offsets (Envoy's names, paths and tokens are ASCII
 * by protocol). Decoding each field on its own cost a call into the runtime per string, the
 * larger part of decoding a request.
 */
interface MessageText {
  readonly bytes: Buffer;
  readonly latin1: string;
}

/** A character of a Latin-1 reading that was not an ASCII byte. */
const NON_ASCII = /[\x80-\xff]/;

/** Above this many bytes, node:buffer's isAscii checks a field faster than a regex. */
const LONG_FIELD_BYTES = 64;

/**
 * A length-delimited UTF-8 string. protobufjs's own `string()` clips a length that runs past the
 * end of the input instead of failing; a truncated request must not decode as a shorter one.
 */
function readString(reader: protobuf.Reader, text: MessageText): string {
  const start = skipLengthDelimited(reader);
  const end = reader.pos;
  const latin1 = text.latin1.slice(start, end);
  const ascii =
    end - start > LONG_FIELD_BYTES
      ? isAscii(text.bytes.subarray(start, end))
      : !NON_ASCII.test(latin1);
  return ascii ? latin1 : text.bytes.toString('utf8', start, end);
}

/** Length-delimited bytes, read as Latin-1: the substring of the message's Latin-1 reading. */
function readLatin1(reader: protobuf.Reader, text: MessageText): string {
  const start = skipLengthDelimited(reader);
  return text.latin1.slice(start, reader.pos);
}

/**
 * Moves past a length-delimited value, checking that it ends within the input; returns where
 * the value starts.
 */
function skipLengthDelimited(reader: protobuf.Reader): number {
  const length = reader.uint32();
  const start = reader.pos;
  if (start + length > reader.len) throw new RangeError('value runs past the end of the input');
  reader.pos = start + length;
  return start;
}

/** Reads a length-delimited sub-message at the reader's position with `readFields`. */
function readMessage(reader: protobuf.Reader, read: (field: number) => boolean): void {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw new RangeError('message runs past the end of the input');
  readFields(reader, end, read);
}

const UNDECODABLE_REQUEST: CheckRequest = Object.freeze({ undecodable: true });

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
