import type { Decision, Deny } from '../pipeline/decision.js';
import {
  type CheckResponse,
  HeaderAppendAction,
  type HeaderValueOption,
  type Struct,
  type StructValue,
} from './messages.js';

/** google.rpc.Code values (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto). */
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
 * filter's namespace for logging and later filters; the per-request decision id is added by
 * `decisionIdMetadata`, so the rest of a response can be encoded once per Decision.
 */
export function toCheckResponse(decision: Decision): CheckResponse & { dynamic_metadata: Struct } {
  const metadata = describeDecision(decision);
  if (decision.allow) {
    return {
      status: { code: GRPC_CODE.ok },
      ok_response: {
        headers: decision.setHeaders.map(({ name, value }) => overwrite(name, value)),
        headers_to_remove: [...decision.removeHeaders],
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
    status: { code: STATUS_TO_GRPC_CODE[decision.status], message: decision.reason },
    denied_response: {
      status: { code: decision.status },
      headers,
      body: JSON.stringify({ error: decision.reason, message: decision.message }),
    },
    dynamic_metadata: metadata,
  };
}

/**
 * `append_action` OVERWRITE_IF_EXISTS_OR_ADD replaces any copy the client sent. `append` is left
 * unset: Envoy versions that predate append_action then also overwrite.
 */
function overwrite(key: string, value: string): HeaderValueOption {
  return { header: { key, value }, append_action: HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD };
}

/** The metadata field that changes with every request, kept apart so the rest is encoded once. */
export function decisionIdMetadata(decisionId: string): Struct {
  return { fields: { decision_id: { stringValue: decisionId } } };
}

function describeDecision(decision: Decision): Struct {
  const fields: Record<string, StructValue> = {
    outcome: { stringValue: decision.allow ? 'allow' : 'deny' },
    reason: { stringValue: decision.reason },
  };
  if (decision.rule !== undefined) fields.rule = { stringValue: decision.rule };

  const { identity } = decision;
  if (identity !== undefined) {
    fields.provider = { stringValue: identity.provider };
    fields.issuer = { stringValue: identity.issuer };
    if (identity.subject !== undefined) fields.subject = { stringValue: identity.subject };
    if (identity.clientId !== undefined) fields.client_id = { stringValue: identity.clientId };
    fields.scopes = {
      listValue: { values: identity.scopes.map((scope) => ({ stringValue: scope })) },
    };
  }
  return { fields };
}
