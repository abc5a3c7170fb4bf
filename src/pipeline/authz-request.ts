/**
 * Tollgate's own view of one HTTP request, built from Envoy's CheckRequest by `envoy/`.
 * Identity and policy read only this, so they never depend on Envoy's wire format.
 */
export interface AuthzRequest {
  /**
   * Envoy's `x-request-id` when it is at most 128 visible ASCII characters, otherwise one we
   * generate; also the decision id.
   */
  readonly id: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Lower-case host without port or trailing dot. */
  readonly host: string;
  /** The request target as Envoy saw it: path, query and possibly fragment, not yet normalized. */
  readonly rawPath: string;
  /**
   * Request headers with lower-case names. Repeated headers are joined with "," the way Envoy
   * joins them in `AttributeContext.HttpRequest.headers`; repeated cookies with "; ".
   */
  readonly headers: Readonly<Record<string, string>>;
}
