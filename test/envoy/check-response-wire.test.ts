import { describe, expect, it } from 'vitest';
import { writeCheckResponse } from '../../src/envoy/check-response-wire.js';
import type { CheckResponse, StructValue } from '../../src/envoy/messages.js';
import { ProtoWriter } from '../../src/envoy/proto-writer.js';
import { encodeWithProtobufjs, encodeWithWriter } from '../support/reference-encoding.js';

const OVERWRITE = 2;

function header(key: string, value: string) {
  return { header: { key, value }, append_action: OVERWRITE };
}

const text = (value: string): StructValue => ({ stringValue: value });

const CASES: [name: string, response: CheckResponse][] = [
  ['an empty response', {}],
  ['a status of code 0, which is still written', { status: { code: 0 } }],
  [
    'an allow with headers to set and remove',
    {
      status: { code: 0 },
      ok_response: {
        headers: [header('x-auth-subject', 'alice'), header('x-auth-client-id', 'web')],
        headers_to_remove: ['x-auth-email', ''],
      },
    },
  ],
  [
    'a denial with status, headers and body',
    {
      status: { code: 16, message: 'token_expired' },
      denied_response: {
        status: { code: 401 },
        headers: [header('www-authenticate', 'Bearer realm="tollgate", error="invalid_token"')],
        body: '{"error":"token_expired"}',
      },
    },
  ],
  ['a negative status code', { status: { code: -7, message: '' } }],
  [
    'metadata of every value kind',
    {
      dynamic_metadata: {
        fields: {
          text: text('allow'),
          empty: text(''),
          number: { numberValue: -1.5e300 },
          truth: { boolValue: true },
          falsity: { boolValue: false },
          nested: { structValue: { fields: { inner: { listValue: { values: [] } } } } },
          list: { listValue: { values: [text('a'), { numberValue: 0 }, text('é')] } },
        },
      },
    },
  ],
  [
    'non-ASCII text: accents, CJK, emoji',
    {
      ok_response: { headers: [header('x-name', 'Zoë 山田 🦊')], headers_to_remove: [] },
      dynamic_metadata: { fields: { subject: text('Zoë 山田 🦊') } },
    },
  ],
  [
    'values whose lengths need two- and three-byte varints',
    {
      ok_response: {
        headers: [header('x-groups', 'g'.repeat(200)), header('x-big', 'b'.repeat(20_000))],
        headers_to_remove: ['r'.repeat(127), 'r'.repeat(128)],
      },
      dynamic_metadata: { fields: { scopes: { listValue: { values: [text('s'.repeat(300))] } } } },
    },
  ],
];

describe('writeCheckResponse', () => {
  it.each(CASES)('writes %s exactly as protobufjs encodes it', (_, response) => {
    expect(encodeWithWriter(response).toString('hex')).toBe(
      encodeWithProtobufjs(response).toString('hex'),
    );
  });

  it('outgrows its scratch buffer for a message of a megabyte, then lets it go', () => {
    const writer = new ProtoWriter();
    const large: CheckResponse = {
      ok_response: { headers: [header('x-large', 'x'.repeat(1 << 20))], headers_to_remove: [] },
    };
    writeCheckResponse(writer, large);
    expect(writer.toBuffer().equals(encodeWithProtobufjs(large))).toBe(true);
    expect(writer.capacity).toBeGreaterThan(1 << 20);

    writer.reset();
    const small: CheckResponse = { status: { code: 7 } };
    writeCheckResponse(writer, small);
    expect(writer.toBuffer().equals(encodeWithProtobufjs(small))).toBe(true);
    expect(writer.capacity).toBeLessThanOrEqual(64 * 1024);
  });
});
