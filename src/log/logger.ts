import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Header names pino censors in any logged `headers` object. A second line of defence only:
 * decision lines are built with `redactHeaders`, which already removes these and every other
 * credential-bearing header.
 */
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
 * pino, JSON, one line per event. Decision lines log request headers at debug only, passed
 * through `redactHeaders` (see redact-headers.ts); pino's `redact` censors the best-known
 * credential headers again, in case a `headers` object ever reaches a line some other way.
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
    options.destination ?? bufferedStdout(),
  );
}

/** Longest a log line may wait in the buffer, in ms. */
const FLUSH_INTERVAL_MS = 500;

/**
 * stdout, written in batches of at least 4 KiB: one write system call per decision line cost
 * about 10 us under load, a quarter of tollgate's own work on a cached token. A timer flushes
 * what a quiet sidecar has buffered, so no line waits longer than FLUSH_INTERVAL_MS.
 */
function bufferedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_INTERVAL_MS).unref();
  return destination;
}
