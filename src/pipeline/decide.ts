import { type Authentication, authenticate } from '../identity/authenticate.js';
import type { JwtProvider } from '../identity/jwt-provider.js';
import type { TokenCache } from '../identity/token-cache.js';
import { normalizePath } from '../policy/path-normalize.js';
import { splitPathSegments } from '../policy/path-pattern.js';
import { type Rule, selectRule } from '../policy/rule.js';
import type { AuthzRequest } from './authz-request.js';
import type { Allow, Decision, Deny, Identity, UpstreamHeader } from './decision.js';
import type { Policy } from './policy.js';

/** Name reported for decisions that no rule made. */
export const DEFAULT_RULE = '(default)';

/**
 * The decision pipeline: normalize the path, select the first matching rule, authenticate when
 * the rule requires it, check scopes, and describe the outcome as a Decision. It never throws for
 * a request it dislikes; it answers with a Deny.
 */
export class Decider {
  readonly #providersInOrder: readonly JwtProvider[];

  constructor(
    readonly policy: Policy,
    private readonly cache: TokenCache,
    private readonly nowSeconds: () => number = () => Date.now() / 1000,
  ) {
    this.#providersInOrder = [...policy.providers.values()];
  }

  async decide(request: AuthzRequest): Promise<Decision> {
    const normalized = normalizePath(request.rawPath, this.policy.paths);
    if (!normalized.ok) {
      return deny('path_invalid', 400, normalized.problem, undefined);
    }

    const target = {
      method: request.method,
      host: request.host,
      segments: splitPathSegments(normalized.path),
    };
    const rule = selectRule(this.policy.rules, target);
    if (rule === undefined) {
      if (this.policy.defaultAction === 'allow') return this.#allow(DEFAULT_RULE, undefined);
      return deny('default_denied', 403, 'no rule allows this request', undefined);
    }
    if (rule.action === 'deny')
      return deny('rule_denied', 403, 'a rule denies this request', rule.name);
    if (rule.require === undefined) return this.#allow(rule.name, undefined);

    const authentication = await authenticate(
      request.headers,
      this.#acceptedProviders(rule),
      this.cache,
      this.nowSeconds(),
    );
    if (!authentication.ok) return this.#denyAuthentication(authentication, rule);

    const { identity } = authentication;
    const needed = rule.require.scopes;
    if (!needed.every((scope) => identity.scopes.includes(scope))) {
      const challenge = `Bearer realm="${this.policy.realm}", error="insufficient_scope", scope="${needed.join(' ')}"`;
      return {
        ...deny('scope_missing', 403, 'token lacks a required scope', rule.name),
        challenge,
        identity,
      };
    }
    return this.#allow(rule.name, identity);
  }

  #acceptedProviders(rule: Rule): readonly JwtProvider[] {
    const names = rule.require?.providers ?? [];
    if (names.length === 0) return this.#providersInOrder;
    return names.map((name) => this.policy.providers.get(name) as JwtProvider);
  }

  #allow(rule: string, identity: Identity | undefined): Allow {
    const setHeaders: UpstreamHeader[] = [];
    if (identity !== undefined) {
      const provider = this.policy.providers.get(identity.provider);
      for (const { claim, header } of provider?.claimHeaders ?? []) {
        const value = toHeaderValue(identity.claims[claim]);
        if (value !== undefined) setHeaders.push({ name: header, value });
      }
    }
    const removeHeaders = this.policy.claimHeaderNames.filter(
      (name) => !setHeaders.some((header) => header.name === name),
    );
    return { allow: true, reason: 'allowed', rule, identity, setHeaders, removeHeaders };
  }

  #denyAuthentication(failure: Extract<Authentication, { ok: false }>, rule: Rule): Deny {
    const { reason, message } = failure;
    const realm = `Bearer realm="${this.policy.realm}"`;
    switch (reason) {
      case 'credential_missing':
        // RFC 6750 §3.1: no error code when the request carried no authentication at all.
        return { ...deny(reason, 401, message, rule.name), challenge: realm };
      case 'credential_malformed':
        return {
          ...deny(reason, 400, message, rule.name),
          challenge: `${realm}, error="invalid_request", error_description="${message}"`,
        };
      case 'provider_unavailable':
      case 'internal_error':
        return deny(reason, 503, message, rule.name);
      default:
        return {
          ...deny(reason, 401, message, rule.name),
          challenge: `${realm}, error="invalid_token", error_description="${message}"`,
        };
    }
  }
}

function deny(
  reason: Deny['reason'],
  status: Deny['status'],
  message: string,
  rule: string | undefined,
): Deny {
  return { allow: false, reason, status, message, rule, challenge: undefined, identity: undefined };
}

/**
 * Claim values become header values: strings as they are, numbers and booleans as text, arrays of
 * strings space-separated (the way `scope` is written). Anything else, or a value holding control
 * characters that could split a header, is not forwarded.
 */
function toHeaderValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
    text = value.join(' ');
  else return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  return /[\x00-\x1f\x7f]/.test(text) ? undefined : text;
}
