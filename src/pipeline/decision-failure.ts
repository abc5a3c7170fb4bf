import type { Deny } from './decision.js';

/** A request Envoy described too poorly to decide on (no method, no path...): 400. */
export function denyInvalidRequest(problem: string): Deny {
  return denyWithoutRule('request_invalid', 400, problem);
}

/** Envoy's deadline is about to pass while the decision waits (usually on a key fetch): 503. */
export function denyDeadline(): Deny {
  return denyWithoutRule('deadline_exceeded', 503, "no decision before Envoy's deadline");
}

/** Something inside tollgate failed unexpectedly: fail closed with 503. */
export function denyInternalError(): Deny {
  return denyWithoutRule('internal_error', 503, 'tollgate could not decide; the request is denied');
}

function denyWithoutRule(reason: Deny['reason'], status: Deny['status'], message: string): Deny {
  return {
    allow: false,
    reason,
    status,
    message,
    rule: undefined,
    challenge: undefined,
    identity: undefined,
  };
}
