import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly destination?: DestinationStream;
}

/**
 * pino, JSON, one line per event. Decision lines log request headers at debug only, and only
 * through `redactHeaders` (redact-headers.ts), the one place credentials are removed; pino's
 * own path-based `redact` is not used, since it would wrap every line of the hot path to
 * censor fields that never reach it.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: 'tollgate',
      level: options.level,
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
 *
 * The batches are written synchronously. Asynchronously, sonic-boom has one write of at most
 * 16 KiB in flight, finished on a later turn of the event loop; a busy sidecar logs more than
 * that per turn, and the backlog grew without bound (16.7 MB of queued lines after 150,000
 * Checks in the memory benchmark, which then ran out of heap). A synchronous write keeps the
 * buffer at one batch, and a stdout that cannot keep up slows Checks down instead of
 * exhausting memory. It also measured cheaper per line.
 */
function bufferedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_INTERVAL_MS).unref();
  return destination;
}
