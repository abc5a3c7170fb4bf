/**
 * The parts of Envoy's ext_authz v3 messages that tollgate reads and writes, as protobufjs
 * decodes them with `keepCase` (bytes as Buffer; unset scalars read as their zero value). The
 * wire contract is `proto/envoy/service/auth/v3/*.proto`; these types only describe the objects.
 */

export interface HeaderValue {
  key?: string;
  value?: string;
  raw_value?: Buffer;
  /**
   * Not a proto field: our codec's reading of `raw_value`, one character per byte (Latin-1),
   * set in its place. A Buffer per header cost more than the rest of decoding the header.
   */
  raw_value_latin1?: string;
}

export interface HttpRequest {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  header_map?: { headers?: HeaderValue[] };
  path?: string;
  host?: string;
  scheme?: string;
  protocol?: string;
}

export interface CheckRequest {
  /** Set by our codec when the bytes were not a CheckRequest at all. */
  undecodable?: true;
  attributes?: {
    request?: { http?: HttpRequest };
  };
}

/**
 * google.protobuf.Value: protobufjs names the fields of well-known types in camelCase, even
 * with keepCase.
 */
export type StructValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { numberValue: number }
  | { listValue: { values: StructValue[] } }
  | { structValue: Struct };

export interface Struct {
  fields: Record<string, StructValue>;
}

/** Values of envoy.config.core.v3.HeaderValueOption.HeaderAppendAction (checked by the codec). */
export const HeaderAppendAction = { OVERWRITE_IF_EXISTS_OR_ADD: 2 } as const;

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action?: number;
}

export interface CheckResponse {
  status?: { code: number; message?: string };
  ok_response?: {
    headers: HeaderValueOption[];
    headers_to_remove: string[];
  };
  denied_response?: {
    status: { code: number };
    headers: HeaderValueOption[];
    body: string;
  };
  dynamic_metadata?: Struct;
}
