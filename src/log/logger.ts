import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Header names whose values never reach a log line, whatever the level. */
const ALWAYS_REDACTED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
];

export interface LoggerOptions {
  readonly level: string;
  /** Further headers that carry credentials (from the providers' credential sources). */
  readonly credentialHeaders?: readonly string[];
  readonly destination?: DestinationStream;
}

/**
 * pino, JSON, one line per event. Decision lines log attributes at debug only, and every
 * credential-bearing header is replaced by "[redacted]" before serialization.
 */
export function createLogger(options: LoggerOptions): Logger {
  const headers = [...new Set([...ALWAYS_REDACTED_HEADERS, ...(options.credentialHeaders ?? [])])];
  const redact = {
    paths: headers.map((name) => `headers[${JSON.stringify(name)}]`),
    censor: '[redacted]',
  };
  return pino(
    {
      name: 'tollgate',
      level: options.level,
      redact,
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
