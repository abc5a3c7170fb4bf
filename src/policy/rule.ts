import type { HostPattern } from './host-pattern.js';
import type { PathPattern } from './path-pattern.js';

/** What a rule demands of the caller before its allow applies. */
export interface Requirement {
  /** Names of the providers whose tokens are accepted. */
  readonly providers: readonly string[];
  /** Scopes the token must all carry. */
  readonly scopes: readonly string[];
}

/** One compiled entry of `rules`: the first whose match succeeds decides. */
export interface Rule {
  readonly name: string;
  /** Undefined means any host, path or method. */
  readonly hosts: readonly HostPattern[] | undefined;
  readonly paths: readonly PathPattern[] | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly action: 'allow' | 'deny';
  /** Undefined means anyone, with or without a credential. */
  readonly require: Requirement | undefined;
}

/** The parts of a request that rules match on, normalized once per request. */
export interface RuleTarget {
  readonly method: string;
  readonly host: string;
  /** Segments of the normalized path (see splitPathSegments). */
  readonly segments: readonly string[];
}

/** Returns the first rule matching the target, or undefined. */
export function selectRule(rules: readonly Rule[], target: RuleTarget): Rule | undefined {
  for (const rule of rules) {
    if (matchesRule(rule, target)) return rule;
  }
  return undefined;
}

// Plain loops rather than Array#some with an arrow function: this runs for every rule on every
// request, and each call of `some` allocated a closure capturing the target.
function matchesRule(rule: Rule, target: RuleTarget): boolean {
  if (rule.methods !== undefined && !rule.methods.has(target.method)) return false;
  if (rule.hosts !== undefined && !matchesAnyHost(rule.hosts, target.host)) return false;
  if (rule.paths !== undefined && !matchesAnyPath(rule.paths, target.segments)) return false;
  return true;
}

function matchesAnyHost(hosts: readonly HostPattern[], host: string): boolean {
  for (const pattern of hosts) {
    if (pattern.matches(host)) return true;
  }
  return false;
}

function matchesAnyPath(paths: readonly PathPattern[], segments: readonly string[]): boolean {
  for (const pattern of paths) {
    if (pattern.matches(segments)) return true;
  }
  return false;
}
