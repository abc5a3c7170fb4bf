import type { JwtProvider } from '../identity/jwt-provider.js';
import type { PathOptions } from '../policy/path-normalize.js';
import type { Rule } from '../policy/rule.js';

/** Everything a decision depends on, compiled from configuration once at start. */
export interface Policy {
  readonly rules: readonly Rule[];
  readonly defaultAction: 'allow' | 'deny';
  readonly providers: ReadonlyMap<string, JwtProvider>;
  readonly paths: PathOptions;
  /** Realm named in `www-authenticate` challenges. */
  readonly realm: string;
  /** Every header any provider sets from a claim; stripped from requests that do not earn them. */
  readonly claimHeaderNames: readonly string[];
}
