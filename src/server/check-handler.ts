import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CheckRequest } from '../envoy/messages.js';
import type { CheckResponseEncoder } from '../envoy/response-encoder.js';
import { toAuthzRequest } from '../envoy/to-authz-request.js';
import { redactHeaders, redactPath } from '../log/redact-headers.js';
import type { AuthzRequest } from '../pipeline/authz-request.js';
import type { Decider } from '../pipeline/decide.js';
import type { Decision } from '../pipeline/decision.js';
import {
  denyDeadline,
  denyInternalError,
  denyInvalidRequest,
} from '../pipeline/decision-failure.js';
import type { Policy } from '../pipeline/policy.js';

/** Longest delay a Node timer honours, in ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
export function createCheckHandler(
  decider: Decider,
  encoder: CheckResponseEncoder,
  logger: Logger,
) {
  const log: DecisionLog = {
    logger,
    credentialHeaders: credentialHeaderNames(decider.policy),
    byDecision: new WeakMap(),
  };
  // The problems are fixed texts, so their denials are few and shared like the Decider's.
  const invalidRequests = new Map<string, Decision>();
  return (call: ServerUnaryCall<CheckRequest, Buffer>, callback: sendUnaryData<Buffer>) => {
    const startedMs = performance.now();
    const translation = toAuthzRequest(call.request);
    if (!translation.ok) {
      const { problem } = translation;
      let decision = invalidRequests.get(problem);
      if (decision === undefined) {
        decision = denyInvalidRequest(problem);
        invalidRequests.set(problem, decision);
      }
      logDecision(log, decision, translation.id, undefined, startedMs);
      callback(null, encoder.encode(decision, translation.id));
      return;
    }

    const { request } = translation;
    const respond = (decided: Decision) => {
      let decision = decided;
      let bytes: Buffer;
      try {
        bytes = encoder.encode(decision, request.id);
      } catch {
        // Fail closed here too: an answer that cannot be encoded becomes a denial that can.
        decision = denyInternalError();
        bytes = encoder.encode(decision, request.id);
      }
      logDecision(log, decision, request.id, request, startedMs);
      callback(null, bytes);
    };

    let decision: Decision | Promise<Decision>;
    try {
      decision = decider.decide(request);
    } catch {
      decision = denyInternalError();
    }
    if (decision instanceof Promise) {
      beforeDeadline(decision, call.getDeadline()).catch(denyInternalError).then(respond);
    } else {
      respond(decision);
    }
  };
}

/** Races a pending decision against Envoy's deadline, answering 503 just before it passes. */
function beforeDeadline(decision: Promise<Decision>, deadline: Date | number): Promise<Decision> {
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(deadlineMs)) return decision;

  const budgetMs = deadlineMs - Date.now();
  // Node's timers fire at once past 2^31-1 ms (about 24.8 days); such a deadline is no limit.
  if (budgetMs > MAX_TIMER_MS) return decision;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<Decision>((resolve) => {
    const delayMs = Math.max(0, budgetMs - deadlineMarginMs(budgetMs));
    timer = setTimeout(() => resolve(denyDeadline()), delayMs);
  });
  return Promise.race([decision, expiry]).finally(() => clearTimeout(timer));
}

/** Where decision lines go, and which headers the providers read credentials from. */
interface DecisionLog {
  readonly logger: Logger;
  readonly credentialHeaders: ReadonlySet<string>;
  /**
   * Per Decision, a pino child logger bound to the fields that depend on the Decision alone
   * (rule, outcome, reason, status, subject). pino serializes a child's bindings once, so a
   * line for a shared Decision only serializes the request's own fields: half the cost of
   * the whole line, measured at about 2 us of the 4.
   */
  readonly byDecision: WeakMap<Decision, Logger>;
}

function credentialHeaderNames(policy: Policy): ReadonlySet<string> {
  const names = new Set<string>();
  for (const provider of policy.providers.values()) {
    for (const source of provider.credentials) {
      if (source.kind === 'header') names.add(source.header.toLowerCase());
    }
  }
  return names;
}

/**
 * One line per decision at info, with the path but never its query (RFC 6750 §2.3 lets a token
 * travel there). At debug the request headers are added, through `redactHeaders`, which removes
 * every credential.
 */
function logDecision(
  { logger, credentialHeaders, byDecision }: DecisionLog,
  decision: Decision,
  id: string,
  request: AuthzRequest | undefined,
  startedMs: number,
): void {
  if (!logger.isLevelEnabled('info')) return;
  const oneOff = decision.oneOff === true;
  let decisionLogger = oneOff ? logger : byDecision.get(decision);
  if (decisionLogger === undefined) {
    decisionLogger = logger.child(decisionFields(decision));
    byDecision.set(decision, decisionLogger);
  }

  // A one-off Decision's own fields go in the line: a child logger would serve one line. Named
  // one by one, since V8 copies a spread object through its runtime: a few us per line. pino
  // leaves out the fields that are undefined.
  const own = oneOff ? decisionFields(decision) : undefined;
  const line = {
    rule: own?.rule,
    outcome: own?.outcome,
    reason: own?.reason,
    status: own?.status,
    subject: own?.subject,
    decision_id: id,
    method: request?.method,
    host: request?.host,
    path: request === undefined ? undefined : redactPath(request.rawPath),
    duration_ms: Math.round((performance.now() - startedMs) * 1000) / 1000,
  };
  if (logger.isLevelEnabled('debug') && request !== undefined) {
    const headers = redactHeaders(request.headers, credentialHeaders);
    decisionLogger.debug({ ...line, headers }, 'decision');
  } else {
    decisionLogger.info(line, 'decision');
  }
}

/** The fields of a decision line that depend on the Decision alone. */
function decisionFields(decision: Decision) {
  return {
    rule: decision.rule,
    outcome: decision.allow ? 'allow' : 'deny',
    reason: decision.reason,
    status: decision.allow ? 200 : decision.status,
    subject: decision.identity?.subject,
  };
}
