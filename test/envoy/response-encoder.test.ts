import { describe, expect, it } from 'vitest';
import { CheckResponseEncoder } from '../../src/envoy/response-encoder.js';
import { DECISION_ID_FIELD, toCheckResponse } from '../../src/envoy/to-check-response.js';
import type { Allow, Decision, Deny } from '../../src/pipeline/decision.js';
import { decodeCheckResponse } from '../support/decode-check-response.js';
import { encodeWithProtobufjs } from '../support/reference-encoding.js';

const allow: Allow = {
  allow: true,
  reason: 'allowed',
  rule: 'read-orders',
  identity: {
    provider: 'corp',
    issuer: 'https://idp.example',
    subject: 'alice',
    clientId: 'web',
    scopes: ['orders:read', 'profile'],
    claims: {},
  },
  setHeaders: [{ name: 'x-auth-subject', value: 'alice' }],
  removeHeaders: ['x-auth-client'],
};

const deny: Deny = {
  allow: false,
  reason: 'credential_missing',
  status: 401,
  message: 'a bearer token is required',
  rule: 'read-orders',
  challenge: 'Bearer realm="tollgate"',
  identity: undefined,
};

describe('CheckResponseEncoder', () => {
  const encoder = new CheckResponseEncoder();

  it('writes an allow that a standard decoder reads whole, decision id included', () => {
    const decoded = decodeCheckResponse(encoder.encode(allow, 'req-1'));

    expect(decoded).toMatchObject({
      status: {},
      ok_response: {
        headers: [
          {
            header: { key: 'x-auth-subject', value: 'alice' },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
        headers_to_remove: ['x-auth-client'],
      },
    });
    const fields = (decoded.dynamic_metadata as { fields: Record<string, unknown> }).fields;
    expect(fields).toMatchObject({
      decision_id: { stringValue: 'req-1' },
      rule: { stringValue: 'read-orders' },
      subject: { stringValue: 'alice' },
      client_id: { stringValue: 'web' },
      outcome: { stringValue: 'allow' },
    });
  });

  it('gives each request its own decision id when the Decision is shared', () => {
    const first = decodeCheckResponse(encoder.encode(deny, 'req-a'));
    const second = decodeCheckResponse(encoder.encode(deny, 'req-b-longer-id'));

    const idOf = (decoded: Record<string, unknown>) =>
      (decoded.dynamic_metadata as { fields: { decision_id: { stringValue: string } } }).fields
        .decision_id.stringValue;
    expect([idOf(first), idOf(second)]).toEqual(['req-a', 'req-b-longer-id']);
    expect(second).toMatchObject({
      status: { code: 16, message: 'credential_missing' },
      denied_response: {
        status: { code: 'Unauthorized' },
        body: JSON.stringify({
          error: 'credential_missing',
          message: 'a bearer token is required',
        }),
      },
    });
  });

  // 125 and 126 characters put the id's value, then its map entry, past 127 bytes: the first
  // lengths that take two varint bytes. 128 is the longest id toDecisionId keeps.
  it.each([1, 36, 125, 126, 128])(
    'writes a decision id of %i characters that a standard decoder reads back',
    (length) => {
      const id = 'r'.repeat(length);
      const decoded = decodeCheckResponse(encoder.encode(allow, id));

      const fields = (decoded.dynamic_metadata as { fields: Record<string, unknown> }).fields;
      expect(fields.decision_id).toMatchObject({ stringValue: id });
      expect(fields.rule).toMatchObject({ stringValue: 'read-orders' });
    },
  );

  it.each<[name: string, decision: Decision]>([
    ['a shared allow', allow],
    ['a shared denial', deny],
    ['a one-off allow', { ...allow, oneOff: true }],
    ['a one-off denial', { ...deny, oneOff: true }],
    [
      'an allow whose header value is 300 characters',
      { ...allow, setHeaders: [{ name: 'x-auth-subject', value: 'v'.repeat(300) }] },
    ],
  ])('writes %s as one protobufjs encoding would, first and when reused', (_, decision) => {
    const fresh = new CheckResponseEncoder();

    for (const id of ['req-1', 'a-much-longer-request-id-0123456789abcdef', 'r']) {
      const response = toCheckResponse(decision);
      response.dynamic_metadata.fields[DECISION_ID_FIELD] = { stringValue: id };
      expect(fresh.encode(decision, id).toString('hex')).toBe(
        encodeWithProtobufjs(response).toString('hex'),
      );
    }
  });
});
