/**
 * A gRPC client that talks to tollgate the way Envoy's ext_authz filter does: it sends
 * `envoy.service.auth.v3.Authorization/Check` over a real socket with a CheckRequest shaped like
 * the ones Envoy builds (attributes.request.http with either the `headers` map or, with
 * `encode_raw_headers`, the `header_map`), and a deadline like the filter's `timeout`.
 */
import {
  type CallOptions,
  type Client,
  type ClientReadableStream,
  credentials,
  Metadata,
  type MethodDefinition,
} from '@grpc/grpc-js';
import { loadProtoServices } from '../../src/envoy/proto-definitions.js';

export interface HttpAttributes {
  method?: string;
  host?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Send headers as `header_map` raw headers (repeated keys allowed) instead of the map. */
  rawHeaders?: [string, string][];
  id?: string;
}

export interface DecodedHeaderOption {
  header: { key: string; value: string };
  append_action?: string;
}

export interface DecodedCheckResponse {
  status: { code?: number; message?: string };
  ok_response?: { headers?: DecodedHeaderOption[]; headers_to_remove?: string[] };
  denied_response?: { status: { code: string }; headers?: DecodedHeaderOption[]; body?: string };
  dynamic_metadata?: { fields: Record<string, Record<string, unknown>> };
}

/** The CheckRequest Envoy would send for one HTTP request. */
export function toCheckRequest(http: HttpAttributes): unknown {
  const headers = { ...(http.headers ?? {}) };
  const request = {
    id: http.id ?? '1234',
    method: http.method ?? 'GET',
    path: http.path ?? '/',
    host: http.host ?? 'orders.example.com',
    scheme: 'http',
    protocol: 'HTTP/1.1',
    ...(http.rawHeaders === undefined
      ? { headers: { ':method': http.method ?? 'GET', ':path': http.path ?? '/', ...headers } }
      : {
          header_map: {
            headers: http.rawHeaders.map(([key, value]) => ({
              key,
              raw_value: Buffer.from(value),
            })),
          },
        }),
  };
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
      request: { time: { seconds: String(Math.floor(Date.now() / 1000)) }, http: request },
    },
  };
}

type Callback<T> = (error: Error | null, response: T) => void;

interface AuthorizationClient extends Client {
  Check(
    message: unknown,
    metadata: Metadata,
    options: CallOptions,
    callback: Callback<DecodedCheckResponse>,
  ): void;
}

interface HealthClient extends Client {
  Check(message: { service: string }, callback: Callback<{ status: string }>): void;
  Watch(message: { service: string }): ClientReadableStream<{ status: string }>;
}

export class EnvoyClient {
  readonly #authorization: AuthorizationClient;
  readonly #health: HealthClient;
  readonly #checkMethod: MethodDefinition<unknown, unknown>;

  constructor(address: string) {
    const { AuthorizationClient, HealthClient } = loadProtoServices();
    this.#checkMethod = AuthorizationClient.service.Check as MethodDefinition<unknown, unknown>;
    this.#authorization = new AuthorizationClient(address, credentials.createInsecure()) as never;
    this.#health = new HealthClient(address, credentials.createInsecure()) as never;
  }

  /** Sends one Check with a deadline (Envoy's ext_authz default timeout is 200 ms). */
  check(
    http: HttpAttributes,
    options: { deadlineMs?: number } = {},
  ): Promise<DecodedCheckResponse> {
    return this.checkRaw(toCheckRequest(http), options);
  }

  checkRaw(message: unknown, options: { deadlineMs?: number } = {}): Promise<DecodedCheckResponse> {
    const deadline = Date.now() + (options.deadlineMs ?? 5000);
    return new Promise((resolve, reject) => {
      this.#authorization.Check(message, new Metadata(), { deadline }, (error, response) => {
        if (error) reject(error);
        else resolve(response);
      });
    });
  }

  /** Sends bytes as the Check message without encoding them, as a broken or hostile peer might. */
  checkBytes(bytes: Buffer): Promise<DecodedCheckResponse> {
    const { path, responseDeserialize } = this.#checkMethod;
    return new Promise((resolve, reject) => {
      this.#authorization.makeUnaryRequest(
        path,
        (value: Buffer) => value,
        responseDeserialize as (bytes: Buffer) => DecodedCheckResponse,
        bytes,
        (error, response) => (error || response === undefined ? reject(error) : resolve(response)),
      );
    });
  }

  health(service = ''): Promise<{ status: string }> {
    return new Promise((resolve, reject) => {
      this.#health.Check({ service }, (error, response) => {
        if (error) reject(error);
        else resolve(response);
      });
    });
  }

  /** Opens a Watch stream and collects the statuses it reports. */
  watch(service = ''): { statuses: string[]; ended: Promise<void>; cancel(): void } {
    const call = this.#health.Watch({ service });
    const statuses: string[] = [];
    call.on('data', (message) => statuses.push(message.status));
    const ended = new Promise<void>((resolve) => {
      call.on('end', resolve);
      call.on('error', () => resolve());
    });
    return { statuses, ended, cancel: () => call.cancel() };
  }

  close(): void {
    this.#authorization.close();
    this.#health.close();
  }
}

/** The value of a header in a response's ok or denied headers. */
export function headerOf(response: DecodedCheckResponse, name: string): string | undefined {
  const headers = response.ok_response?.headers ?? response.denied_response?.headers ?? [];
  return headers.find((option) => option.header.key === name)?.header.value;
}

/** The denial's HTTP status as a number (Envoy's StatusCode enum decodes as its name). */
export function deniedStatus(response: DecodedCheckResponse): number | undefined {
  const code = response.denied_response?.status.code;
  return code === undefined ? undefined : HTTP_STATUS_BY_NAME[code];
}

export function bodyOf(response: DecodedCheckResponse): { error: string; message: string } {
  return JSON.parse(response.denied_response?.body ?? '{}');
}

/** Reads a string or string-list field of the dynamic metadata Struct. */
export function metadataOf(response: DecodedCheckResponse, field: string): unknown {
  const value = response.dynamic_metadata?.fields[field];
  if (value === undefined) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('listValue' in value) {
    return ((value.listValue as { values?: { stringValue: string }[] }).values ?? []).map(
      (item) => item.stringValue,
    );
  }
  return value;
}

const HTTP_STATUS_BY_NAME: Record<string, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  ServiceUnavailable: 503,
  OK: 200,
};
