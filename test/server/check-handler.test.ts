import { Writable } from 'node:stream';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import type { CheckRequest } from '../../src/envoy/messages.js';
import { CheckResponseEncoder } from '../../src/envoy/response-encoder.js';
import { TokenCache } from '../../src/identity/token-cache.js';
import { createLogger } from '../../src/log/logger.js';
import { Decider } from '../../src/pipeline/decide.js';
import type { Decision } from '../../src/pipeline/decision.js';
import { createCheckHandler } from '../../src/server/check-handler.js';
import { decodeCheckResponse } from '../support/decode-check-response.js';

/** An encoder that cannot encode allows: stands for a bug no real part can be made to show. */
class AllowRefusingEncoder extends CheckResponseEncoder {
  override encode(decision: Decision, decisionId: string): Buffer {
    if (decision.allow) throw new Error('encoder bug');
    return super.encode(decision, decisionId);
  }
}

describe('the Check handler', () => {
  it('answers a denial, not an error or a crash, when a response cannot be encoded', async () => {
    const config = parseConfig('defaultAction: allow', 'inline.yaml');
    const decider = new Decider(config.policy, new TokenCache(10));
    const logger = createLogger({
      level: 'silent',
      destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
    });
    const handler = createCheckHandler(decider, new AllowRefusingEncoder(), logger);
    const request: CheckRequest = {
      attributes: { request: { http: { method: 'GET', path: '/', host: 'a.example' } } },
    };
    const call = { request, getDeadline: () => Number.POSITIVE_INFINITY };

    const bytes = await new Promise<Buffer | null | undefined>((resolve, reject) =>
      handler(call as unknown as ServerUnaryCall<CheckRequest, Buffer>, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );

    const response = decodeCheckResponse(bytes as Buffer);
    expect(response.denied_response).toMatchObject({ status: { code: 'ServiceUnavailable' } });
    expect(JSON.parse((response.denied_response as { body: string }).body).error).toBe(
      'internal_error',
    );
  });
});
