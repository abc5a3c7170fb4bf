/// <reference lib="es2024.string" />
// isWellFormed and toWellFormed: ES2024, in Node since 20 (package.json `engines`).
import type { Decision, Deny } from '../pipeline/decision.js';
import {
  type CheckResponse,
  HeaderAppendAction,
  type HeaderValueOption,
  type Struct,
  type StructValue,
} from './messages.js';

/** google.rpc.Code values (googleapis, google/rpc/code.proto). */
const GRPC_CODE = {
  ok: 0,
  invalidArgument: 3,
  permissionDenied: 7,
  unavailable: 14,
  unauthenticated: 16,
} as const;

const STATUS_TO_GRPC_CODE: Record<Deny['status'], number> = {
  400: GRPC_CODE.invalidArgument,
  401: GRPC_CODE.unauthenticated,
  403: GRPC_CODE.permissionDenied,
  503: GRPC_CODE.unavailable,
};

/**
 * The one place a Decision becomes Envoy's CheckResponse. A denial is an ordinary response with
 * a non-OK `status` and a `denied_response`, never a gRPC error, so Envoy's `failure_mode_allow`
 * cannot turn it into an allow. `dynamic_metadata` is emitted by Envoy under the ext_authz
 * filter's namespace for logging and later filters; the per-request decision id, under
 * DECISION_ID_FIELD, is added by the CheckResponseEncoder, so the rest of a response can be
 * encoded once per Decision.
 *
 * Every string goes through `wellFormed`: claims come from the token, and a JSON string may
 * hold a lone surrogate ("\ud800") that protobufjs would write as bytes that are not UTF-8.
 * Envoy's C++ parser then rejects the whole response, and with `failure_mode_allow: true` a
 * denial becomes an allow.
 */
export function toCheckResponse(decision: Decision): CheckResponse & { dynamic_metadata: Struct } {
  const metadata = describeDecision(decision);
  if (decision.allow) {
    return {
      status: { code: GRPC_CODE.ok },
      ok_response: {
        headers: decision.setHeaders.map(({ name, value }) => overwrite(name, value)),
        headers_to_remove: decision.removeHeaders.map(wellFormed),
      },
      dynamic_metadata: metadata,
    };
  }

  const headers = [
    overwrite('content-type', 'application/json'),
    overwrite('cache-control', 'no-store'),
  ];
  if (decision.challenge !== undefined)
    headers.push(overwrite('www-authenticate', decision.challenge));
  return {
    status: { code: STATUS_TO_GRPC_CODE[decision.status], message: wellFormed(decision.reason) },
    denied_response: {
      status: { code: decision.status },
      headers,
      body: wellFormed(JSON.stringify({ error: decision.reason, message: decision.message })),
    },
    dynamic_metadata: metadata,
  };
}

/**
 * `append_action` OVERWRITE_IF_EXISTS_OR_ADD replaces any copy the client sent. `append` is left
 * unset: Envoy versions that predate append_action then also overwrite.
 */
function overwrite(key: string, value: string): HeaderValueOption {
  return {
    header: { key: wellFormed(key), value: wellFormed(value) },
    append_action: HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
  };
}

/** The metadata field that changes with every request, kept apart so the rest is encoded once. */
export const DECISION_ID_FIELD = 'decision_id';

function describeDecision(decision: Decision): Struct {
  const fields: Record<string, StructValue> = {
    outcome: text(decision.allow ? 'allow' : 'deny'),
    reason: text(decision.reason),
  };
  if (decision.rule !== undefined) fields.rule = text(decision.rule);

  const { identity } = decision;
  if (identity !== undefined) {
    fields.provider = text(identity.provider);
    fields.issuer = text(identity.issuer);
    if (identity.subject !== undefined) fields.subject = text(identity.subject);
    if (identity.clientId !== undefined) fields.client_id = text(identity.clientId);
    fields.scopes = { listValue: { values: identity.scopes.map(text) } };
  }
  return { fields };
}

function text(value: string): StructValue {
  return { stringValue: wellFormed(value) };
}

/**
 * The string with every lone surrogate replaced by U+FFFD, so that its UTF-8 encoding is valid
 * (protobuf `string` fields must be). Checked first: the common string is returned as it is.
 */
function wellFormed(value: string): string {
  return value.isWellFormed() ? value : value.toWellFormed();
}
