/** tollgate's public surface: what embedders and tests may use. Everything else is internal. */

export type { CompiledConfig } from './config/compile-config.js';
export { ConfigError } from './config/config-error.js';
export { loadConfig, parseConfig } from './config/load-config.js';
export { createLogger, type Logger, type LoggerOptions } from './log/logger.js';
export type { AuthzRequest } from './pipeline/authz-request.js';
export type { Allow, Decision, Deny, Identity } from './pipeline/decision.js';
export { REASONS, type ReasonCode } from './pipeline/reasons.js';
export { type RunningServer, type StartOptions, startServer } from './server/start-server.js';
