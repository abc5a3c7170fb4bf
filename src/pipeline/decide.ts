import { type Authentication, authenticate } from '../identity/authenticate.js';
import type { JwtProvider } from '../identity/jwt-provider.js';
import type { TokenCache } from '../identity/token-cache.js';
import { normalizePath } from '../policy/path-normalize.js';
import { splitPathSegments } from '../policy/path-pattern.js';
import { type Requirement, type Rule, selectRule } from '../policy/rule.js';
import type { AuthzRequest } from './authz-request.js';
import type { Allow, Decision, Deny, Identity, UpstreamHeader } from './decision.js';
import type { Policy } from './policy.js';

/** Name reported for decisions that no rule made. */
export const DEFAULT_RULE = '(default)';

/** What the Decider knows of one rule, prepared once. */
interface PreparedRule {
  readonly accepted: readonly JwtProvider[];
  /** Decisions that depend on the rule alone, built on first use and then shared. */
  readonly shared: Map<string, Decision>;
  /** Decisions that depend on the rule and a (cached, immutable) identity. */
  readonly byIdentity: WeakMap<Identity, Decision>;
}

/**
 * The decision pipeline: normalize the path, select the first matching rule, authenticate when
 * the rule requires it, check scopes, and describe the outcome as a Decision. It never throws for
 * a request it dislikes; it answers with a Deny.
 *
 * Decisions are immutable values, so those that depend only on the rule, or on the rule and a
 * cached identity, are built once and shared: the hot path allocates no new Decision, and the
 * Envoy layer can reuse the encoding of one it has seen.
 */
export class Decider {
  readonly #prepared = new Map<Rule, PreparedRule>();
  readonly #shared = new Map<string, Decision>();

  constructor(
    readonly policy: Policy,
    private readonly cache: TokenCache,
    private readonly nowSeconds: () => number = () => Date.now() / 1000,
  ) {
    const all = [...policy.providers.values()];
    for (const rule of policy.rules) {
      const names = rule.require?.providers ?? [];
      const accepted =
        names.length === 0 ? all : names.map((name) => policy.providers.get(name) as JwtProvider);
      this.#prepared.set(rule, { accepted, shared: new Map(), byIdentity: new WeakMap() });
    }
  }

  /**
   * Decides synchronously when no I/O or signature check is needed (public routes, denials,
   * cached tokens), and returns a promise otherwise, so the hot path allocates no promise.
   */
  decide(request: AuthzRequest): Decision | Promise<Decision> {
    const normalized = normalizePath(request.rawPath, this.policy.paths);
    if (!normalized.ok) {
      const { problem } = normalized;
      return share(this.#shared, `path:${problem}`, () => deny('path_invalid', 400, problem));
    }

    const target = {
      method: request.method,
      host: request.host,
      segments: splitPathSegments(normalized.path),
    };
    const rule = selectRule(this.policy.rules, target);
    if (rule === undefined) return this.#decideDefault();

    const prepared = this.#prepared.get(rule) as PreparedRule;
    if (rule.action === 'deny') {
      return share(prepared.shared, 'deny', () =>
        deny('rule_denied', 403, 'a rule denies this request', rule.name),
      );
    }
    const requirement = rule.require;
    if (requirement === undefined) {
      return share(prepared.shared, 'allow', () => this.#allow(rule.name, undefined));
    }

    const authentication = authenticate(
      request.headers,
      prepared.accepted,
      this.cache,
      this.nowSeconds(),
    );
    if (authentication instanceof Promise) {
      return authentication.then((settled) => this.#authorize(settled, rule, requirement));
    }
    return this.#authorize(authentication, rule, requirement);
  }

  #decideDefault(): Decision {
    if (this.policy.defaultAction === 'allow') {
      return share(this.#shared, 'default:allow', () => this.#allow(DEFAULT_RULE, undefined));
    }
    return share(this.#shared, 'default:deny', () =>
      deny('default_denied', 403, 'no rule allows this request'),
    );
  }

  #authorize(authentication: Authentication, rule: Rule, requirement: Requirement): Decision {
    const prepared = this.#prepared.get(rule) as PreparedRule;
    if (!authentication.ok) {
      // Messages are fixed texts (some naming a configured header or cookie), never request
      // data, so the denials of one rule are few: shared, like the rest, however many bad
      // tokens arrive.
      const { reason, message } = authentication;
      return share(prepared.shared, `${reason}:${message}`, () =>
        this.#denyAuthentication(authentication, rule),
      );
    }

    const { identity } = authentication;
    // An identity the cache did not keep never comes back: its Decision is not kept either.
    if (!authentication.cached) return this.#checkScopes(identity, rule, requirement, true);
    let decision = prepared.byIdentity.get(identity);
    if (decision === undefined) {
      decision = this.#checkScopes(identity, rule, requirement, false);
      prepared.byIdentity.set(identity, decision);
    }
    return decision;
  }

  #checkScopes(
    identity: Identity,
    rule: Rule,
    requirement: Requirement,
    oneOff: boolean,
  ): Decision {
    const needed = requirement.scopes;
    if (needed.every((scope) => identity.scopes.includes(scope))) {
      return this.#allow(rule.name, identity, oneOff);
    }
    const refusal: Deny = {
      allow: false,
      reason: 'scope_missing',
      status: 403,
      message: 'token lacks a required scope',
      rule: rule.name,
      challenge:
        `Bearer realm="${this.policy.realm}", error="insufficient_scope", ` +
        `scope="${needed.join(' ')}"`,
      identity,
    };
    return oneOff ? markOneOff(refusal) : refusal;
  }

  #allow(rule: string, identity: Identity | undefined, oneOff = false): Allow {
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
    const allow: Allow = {
      allow: true,
      reason: 'allowed',
      rule,
      identity,
      setHeaders,
      removeHeaders,
    };
    return oneOff ? markOneOff(allow) : allow;
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

/**
 * Marks a Decision made for one request alone. Assigned rather than spread into a copy: V8
 * copies `{ ...decision, oneOff }` through its runtime, which measured about 1 us, on every
 * Check whose token the cache did not keep.
 */
function markOneOff<T extends Decision>(decision: T): T {
  (decision as { oneOff?: true }).oneOff = true;
  return decision;
}

function share(decisions: Map<string, Decision>, key: string, build: () => Decision): Decision {
  let decision = decisions.get(key);
  if (decision === undefined) {
    decision = build();
    decisions.set(key, decision);
  }
  return decision;
}

function deny(
  reason: Deny['reason'],
  status: Deny['status'],
  message: string,
  rule?: string,
): Deny {
  return {
    allow: false,
    reason,
    status,
    message,
    rule,
    challenge: undefined,
    identity: undefined,
  };
}

/**
 * Claim values become header values: strings as they are, numbers and booleans as text, arrays of
 * strings space-separated (the way `scope` is written). Anything else is not forwarded, nor is a
 * value holding control characters that could split a header, or a lone surrogate ("\ud800" in
 * the token's JSON), which has no UTF-8 encoding and would make Envoy reject the whole response.
 */
function toHeaderValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
    text = value.join(' ');
  else return undefined;
  // With the u flag, \p{Surrogate} matches only a surrogate that is not half of a pair.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  return /[\x00-\x1f\x7f]|\p{Surrogate}/u.test(text) ? undefined : text;
}
