/**
 * Before a scenario is measured, one of its requests is sent and the whole CheckResponse decoded,
 * to confirm it reaches the rule and reason the scenario means to measure (the drivers only check
 * allow or deny), and to learn the response frame's size, which h2load runs are checked against.
 */
import { connect, constants as http2 } from 'node:http2';
import { connect as connectSocket } from 'node:net';
import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';
import type { DriverTarget } from './driver.js';
import { CHECK_PATH, mergeDynamicMetadata } from './grpc-frame.js';

export interface ProbeAnswer {
  readonly responseFrameBytes: number;
  readonly statusCode: number;
  /** dynamic_metadata string fields (outcome, rule, reason...); empty for the ceiling. */
  readonly metadata: Record<string, string>;
}

interface DecodedResponse {
  status?: { code?: number };
  dynamic_metadata?: { fields?: Record<string, { stringValue?: string }> };
}

export function createDecisionProbe(protoOptions: Options) {
  const definition = loadSync('envoy/service/auth/v3/external_auth.proto', protoOptions);
  const service = definition['envoy.service.auth.v3.Authorization'] as Record<
    string,
    MethodDefinition<unknown, DecodedResponse>
  >;
  const check = service.Check as MethodDefinition<unknown, DecodedResponse>;

  return async (target: DriverTarget, frame: Buffer): Promise<ProbeAnswer> => {
    const body = await sendFrame(target, frame);
    const decoded = check.responseDeserialize(mergeDynamicMetadata(body.subarray(5)));
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(decoded.dynamic_metadata?.fields ?? {})) {
      if (value.stringValue !== undefined) metadata[key] = value.stringValue;
    }
    return { responseFrameBytes: body.length, statusCode: decoded.status?.code ?? 0, metadata };
  };
}

function sendFrame(target: DriverTarget, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session =
      target.kind === 'tcp'
        ? connect(`http://${target.host}:${target.port}`)
        : connect('http://localhost', { createConnection: () => connectSocket(target.path) });
    session.on('error', reject);
    const stream = session.request(
      {
        [http2.HTTP2_HEADER_METHOD]: 'POST',
        [http2.HTTP2_HEADER_PATH]: CHECK_PATH,
        [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [http2.HTTP2_HEADER_TE]: 'trailers',
      },
      { endStream: false },
    );
    const chunks: Buffer[] = [];
    let grpcStatus: unknown;
    stream.on('response', (headers) => {
      grpcStatus = headers['grpc-status'];
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = trailers['grpc-status'] ?? grpcStatus;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      if (grpcStatus !== '0') reject(new Error(`probe: grpc-status ${String(grpcStatus)}`));
      else resolve(Buffer.concat(chunks));
    });
    stream.end(frame);
  });
}
