import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type { CheckCodec } from '../envoy/codec.js';

/**
 * `envoy.service.auth.v3.Authorization`: requests decoded by the codec, responses already
 * encoded by CheckResponseEncoder (the handler answers with bytes).
 */
export function authorizationService(codec: CheckCodec): ServiceDefinition {
  const check: MethodDefinition<unknown, Buffer> = {
    path: '/envoy.service.auth.v3.Authorization/Check',
    requestStream: false,
    responseStream: false,
    requestDeserialize: (bytes) => codec.decodeRequest(bytes),
    requestSerialize: () => {
      throw new Error('the server never sends a CheckRequest');
    },
    responseSerialize: (bytes) => bytes,
    responseDeserialize: (bytes) => bytes,
  };
  return { Check: check };
}

/** `grpc.health.v1.Health`, with statuses as their enum names ("SERVING"). */
export function healthService(root: protobuf.Root): ServiceDefinition {
  const request = root.lookupType('grpc.health.v1.HealthCheckRequest');
  const response = root.lookupType('grpc.health.v1.HealthCheckResponse');
  const method = (name: string, responseStream: boolean): MethodDefinition<unknown, unknown> => ({
    path: `/grpc.health.v1.Health/${name}`,
    requestStream: false,
    responseStream,
    requestDeserialize: (bytes) => request.toObject(request.decode(bytes), { defaults: true }),
    requestSerialize: (value) =>
      Buffer.from(request.encode(request.fromObject(value as object)).finish()),
    responseSerialize: (value) =>
      Buffer.from(response.encode(response.fromObject(value as object)).finish()),
    responseDeserialize: (bytes) => response.toObject(response.decode(bytes), { enums: String }),
  });
  return { Check: method('Check', false), Watch: method('Watch', true) };
}
