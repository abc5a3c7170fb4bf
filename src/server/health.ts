import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

interface HealthCheckRequest {
  service?: string;
}
interface HealthCheckResponse {
  status: ServingStatus | 'SERVICE_UNKNOWN';
}

/**
 * grpc.health.v1.Health for the whole server ("") and the Authorization service by name.
 * Kubernetes gRPC probes and Envoy's health checks ask Check; Watch streams every change.
 */
export class HealthService {
  #status: ServingStatus = 'NOT_SERVING';
  readonly #watchers = new Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();

  constructor(private readonly services: readonly string[]) {}

  get status(): ServingStatus {
    return this.#status;
  }

  setStatus(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const call of this.#watchers) {
      if (this.#knows(call.request.service)) call.write({ status });
    }
  }

  /** Ends every Watch stream, so a graceful shutdown does not wait on them. */
  endWatches(): void {
    for (const call of this.#watchers) call.end();
    this.#watchers.clear();
  }

  readonly handlers = {
    Check: (
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) => {
      if (!this.#knows(call.request.service)) {
        callback({ code: GrpcStatus.NOT_FOUND, details: 'unknown service' });
        return;
      }
      callback(null, { status: this.#status });
    },
    Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      // The protocol answers an unknown service on Watch with SERVICE_UNKNOWN, not an error.
      call.write({ status: this.#knows(call.request.service) ? this.#status : 'SERVICE_UNKNOWN' });
      this.#watchers.add(call);
      call.on('cancelled', () => this.#watchers.delete(call));
    },
  };

  #knows(service: string | undefined): boolean {
    return service === undefined || service === '' || this.services.includes(service);
  }
}
