/**
 * The hot path's CheckRequest decoder reads only the fields tollgate uses, with its own walk over
 * the wire format. protobufjs's generic decoder, built from the same protos, is the reference.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { createCheckCodec } from '../../src/envoy/codec.js';
import type { CheckRequest } from '../../src/envoy/messages.js';
import { loadProtoRoot } from '../../src/envoy/proto-root.js';

const root = loadProtoRoot();
const codec = createCheckCodec(root);
const CheckRequestType = root.lookupType('envoy.service.auth.v3.CheckRequest');

function encode(request: object): Buffer {
  return Buffer.from(CheckRequestType.encode(CheckRequestType.fromObject(request)).finish());
}

/** The fields tollgate reads, as protobufjs's generic decoder gives them. */
function referenceHttp(bytes: Buffer): Record<string, unknown> {
  const decoded = CheckRequestType.toObject(CheckRequestType.decode(bytes), {
    bytes: Buffer,
  }) as CheckRequest;
  const http = decoded.attributes?.request?.http ?? {};
  const kept: Record<string, unknown> = {};
  for (const field of ['id', 'method', 'headers', 'path', 'host', 'header_map'] as const) {
    if (http[field] !== undefined) kept[field] = http[field];
  }
  return kept;
}

function decodedHttp(bytes: Buffer): Record<string, unknown> {
  const http = codec.decodeRequest(bytes).attributes?.request?.http ?? {};
  // Compare as plain data: the decoder builds null-prototype header records.
  return JSON.parse(JSON.stringify(http)) as Record<string, unknown>;
}

const ENVOY_LIKE = {
  attributes: {
    source: { address: { socket_address: { address: '10.0.0.7', port_value: 51234 } } },
    destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
    request: {
      time: { seconds: 1_750_000_000 },
      http: {
        id: '4c1a3b9e-0c2d-4e3f-9a1b-2c3d4e5f6a7b',
        method: 'GET',
        path: '/orders/42?expand=items',
        host: 'orders.example.com',
        scheme: 'https',
        protocol: 'HTTP/2',
        size: 0,
        headers: {
          ':authority': 'orders.example.com',
          ':method': 'GET',
          ':path': '/orders/42?expand=items',
          authorization: `Bearer ${'a'.repeat(700)}`,
          'x-request-id': '4c1a3b9e-0c2d-4e3f-9a1b-2c3d4e5f6a7b',
        },
      },
    },
    context_extensions: { route: 'orders' },
  },
};

describe('decodeRequest', () => {
  it('reads what the generic decoder reads, and nothing else', () => {
    const bytes = encode(ENVOY_LIKE);
    expect(decodedHttp(bytes)).toEqual(referenceHttp(bytes));
    const decoded = codec.decodeRequest(bytes);
    expect(Object.keys(decoded.attributes ?? {})).toEqual(['request']);
  });

  it('decodes UTF-8 text in short and long fields', () => {
    const accented = 'café ☕ 𝄞';
    const bytes = encode({
      attributes: {
        request: {
          http: {
            path: `/menu/${accented}`,
            headers: { 'x-short': accented, 'x-long': `${'b'.repeat(100)}${accented}` },
          },
        },
      },
    });
    const http = decodedHttp(bytes);
    expect(http).toEqual(referenceHttp(bytes));
    expect(http.headers).toMatchObject({ 'x-short': accented });
  });

  it('reads raw header values of header_map byte for byte, as Latin-1', () => {
    const bytes = encode({
      attributes: {
        request: {
          http: {
            header_map: {
              headers: [
                { key: 'authorization', raw_value: Buffer.from('Bearer abc') },
                { key: 'x-text', value: 'plain' },
                { key: 'x-bytes', raw_value: Buffer.from([0x63, 0xe9, 0xff, 0x00]) },
              ],
            },
          },
        },
      },
    });
    const header = codec.decodeRequest(bytes).attributes?.request?.http?.header_map?.headers;
    expect(header?.[0]).toEqual({ key: 'authorization', raw_value_latin1: 'Bearer abc' });
    expect(header?.[1]).toEqual({ key: 'x-text', value: 'plain' });
    expect(header?.[2]?.raw_value_latin1).toBe('c\u00e9\u00ff\u0000');
  });

  it('refuses a raw header value that runs past the end of the message', () => {
    const bytes = encode({
      attributes: {
        request: {
          http: { header_map: { headers: [{ key: 'a', raw_value: Buffer.from('abcdef') }] } },
        },
      },
    });
    expect(codec.decodeRequest(bytes.subarray(0, bytes.length - 2))).toEqual({
      undecodable: true,
    });
  });

  it('keeps a header named __proto__ as data', () => {
    const bytes = encode({
      attributes: {
        request: { http: { headers: JSON.parse('{"__proto__": "x", "accept": "*/*"}') } },
      },
    });
    const headers = codec.decodeRequest(bytes).attributes?.request?.http?.headers;
    expect(Object.getPrototypeOf(headers)).toBeNull();
    expect(Object.entries(headers ?? {})).toEqual([
      ['__proto__', 'x'],
      ['accept', '*/*'],
    ]);
  });

  it('keeps the last of a repeated field and merges a repeated message', () => {
    const first = encode({ attributes: { request: { http: { method: 'GET', path: '/a' } } } });
    const second = encode({ attributes: { request: { http: { method: 'POST' } } } });
    const bytes = Buffer.concat([first, second]);
    // As the protobuf encoding spec says; protobufjs's generic decoder replaces instead.
    expect(decodedHttp(bytes)).toEqual({ method: 'POST', path: '/a' });
  });

  it('skips unknown fields and known fields of another wire type', () => {
    const writer = protobuf.Writer.create();
    writer.uint32((99 << 3) | 0).uint64(12345); // unknown varint field of CheckRequest
    writer.uint32((1 << 3) | 0).uint32(7); // attributes, but as a varint
    const known = encode({ attributes: { request: { http: { path: '/kept' } } } });
    const bytes = Buffer.concat([Buffer.from(writer.finish()), known]);
    expect(decodedHttp(bytes)).toEqual({ path: '/kept' });
  });

  it('refuses truncated and malformed input as undecodable, never throws', () => {
    const bytes = encode(ENVOY_LIKE);
    for (const cut of [1, 2, 10, 50, bytes.length - 1]) {
      expect(codec.decodeRequest(bytes.subarray(0, cut))).toEqual({ undecodable: true });
    }
    // A path whose declared length runs past the end of its message.
    const lying = Buffer.from([0x0a, 0x06, 0x22, 0x04, 0x12, 0x02, 0x22, 0x10]);
    expect(codec.decodeRequest(lying)).toEqual({ undecodable: true });
    // Wire types 6 and 7 do not exist; 4 (end group) cannot come first.
    for (const tag of [0x0e, 0x0f, 0x0c]) {
      expect(codec.decodeRequest(Buffer.from([tag, 0x00]))).toEqual({ undecodable: true });
    }
  });

  it('decodes an empty message as an empty request', () => {
    expect(codec.decodeRequest(Buffer.alloc(0))).toEqual({});
  });
});
