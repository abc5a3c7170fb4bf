/**
 * Every decision carries one of these codes. They appear unchanged in the log line, the response
 * body, the dynamic metadata and docs/reason-codes.md; a test keeps that page and this list equal.
 */
export const REASONS = {
  allowed: 'the request matched an allow rule and satisfied its requirements',
  rule_denied: 'the request matched a rule whose action is deny',
  default_denied: 'no rule matched and the default action is deny',
  credential_missing: 'the rule requires a credential and the request carries none',
  credential_malformed: 'the credential is present but not in the expected form',
  token_malformed: 'the token is not a well-formed JWT',
  token_algorithm_not_allowed: "the token's alg is not in the provider's allow-list",
  token_key_unknown: "no key of the provider's key set matches the token's kid",
  token_signature_invalid: 'the token signature does not verify',
  token_issuer_invalid: "the token's iss is not the issuer of a provider the rule accepts",
  token_audience_invalid: "the token's aud does not name an accepted audience",
  token_expired: "the token's exp is in the past",
  token_not_yet_valid: "the token's nbf or iat is in the future",
  token_claims_invalid: 'a required claim is missing or has the wrong type',
  scope_missing: 'the token lacks a scope the rule requires',
  path_invalid:
    'the path is malformed, encodes a slash, backslash or control character, ' +
    'carries a semicolon, or climbs above the root',
  request_invalid:
    'the CheckRequest is undecodable, lacks a method or path, or has a malformed method or host',
  provider_unavailable: "the provider's keys could not be loaded",
  deadline_exceeded: "the decision could not be made before Envoy's deadline",
  internal_error: 'an unexpected failure inside tollgate; the request is denied',
} as const;

export type ReasonCode = keyof typeof REASONS;
