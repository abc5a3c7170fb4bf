import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CheckRequest, CheckResponse } from '../envoy/messages.js';
import { toAuthzRequest } from '../envoy/to-authz-request.js';
import { toCheckResponse } from '../envoy/to-check-response.js';
import type { AuthzRequest } from '../pipeline/authz-request.js';
import type { Decider } from '../pipeline/decide.js';
import type { Decision } from '../pipeline/decision.js';
import {
  denyDeadline,
  denyInternalError,
  denyInvalidRequest,
} from '../pipeline/decision-failure.js';

/**
 * How long before Envoy's deadline a pending decision is abandoned for a 503, so the denial
 * arrives while Envoy is still listening: a tenth of the budget, between 2 and 20 ms.
 */
function deadlineMarginMs(budgetMs: number): number {
  return Math.min(20, Math.max(2, budgetMs / 10));
}

/**
 * Envoy's `Authorization/Check`. Every call ends with a CheckResponse and gRPC status OK:
 * whatever goes wrong becomes a denial, never an error Envoy could fail open on.
 */
export function createCheckHandler(decider: Decider, logger: Logger) {
  return (
    call: ServerUnaryCall<CheckRequest, CheckResponse>,
    callback: sendUnaryData<CheckResponse>,
  ) => {
    const startedMs = performance.now();
    const translation = toAuthzRequest(call.request);
    if (!translation.ok) {
      const decision = denyInvalidRequest(translation.problem);
      logDecision(logger, decision, translation.id, undefined, startedMs);
      callback(null, toCheckResponse(decision, translation.id));
      return;
    }

    const { request } = translation;
    decideBeforeDeadline(decider, request, call.getDeadline())
      .catch(() => denyInternalError())
      .then((decision) => {
        logDecision(logger, decision, request.id, request, startedMs);
        callback(null, toCheckResponse(decision, request.id));
      });
  };
}

function decideBeforeDeadline(
  decider: Decider,
  request: AuthzRequest,
  deadline: Date | number,
): Promise<Decision> {
  const decision = decider.decide(request);
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(deadlineMs)) return decision;

  const budgetMs = deadlineMs - Date.now();
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<Decision>((resolve) => {
    timer = setTimeout(
      () => resolve(denyDeadline()),
      Math.max(0, budgetMs - deadlineMarginMs(budgetMs)),
    );
  });
  return Promise.race([decision, expiry]).finally(() => clearTimeout(timer));
}

function logDecision(
  logger: Logger,
  decision: Decision,
  id: string,
  request: AuthzRequest | undefined,
  startedMs: number,
): void {
  if (!logger.isLevelEnabled('info')) return;
  const line = {
    decision_id: id,
    method: request?.method,
    host: request?.host,
    path: request === undefined ? undefined : stripQuery(request.rawPath),
    rule: decision.rule,
    outcome: decision.allow ? 'allow' : 'deny',
    reason: decision.reason,
    status: decision.allow ? 200 : decision.status,
    subject: decision.identity?.subject,
    duration_ms: Math.round((performance.now() - startedMs) * 1000) / 1000,
  };
  if (logger.isLevelEnabled('debug') && request !== undefined) {
    logger.debug({ ...line, headers: request.headers }, 'decision');
  } else {
    logger.info(line, 'decision');
  }
}

function stripQuery(rawPath: string): string {
  const end = rawPath.search(/[?#]/);
  return end < 0 ? rawPath : rawPath.slice(0, end);
}
