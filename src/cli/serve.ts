import type { CompiledConfig } from '../config/compile-config.js';
import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../log/logger.js';
import { startServer } from '../server/start-server.js';

export interface ServeOptions {
  /** Overrides `listen.grpc` from the file. */
  readonly listen?: string;
}

/**
 * Runs the sidecar until SIGTERM or SIGINT; resolves with the process exit code. On the first
 * signal it reports NOT_SERVING but keeps answering for `shutdown.drainMs`, so Envoy's health
 * checks move traffic away before the port closes; then it finishes in-flight Checks and exits
 * 0. A second signal skips the drain.
 */
export async function serve(file: string, options: ServeOptions = {}): Promise<number> {
  // Listen from the start: a signal during start-up must stop us cleanly, not kill us.
  const signals = waitForSignals();

  let config: CompiledConfig;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  if (options.listen !== undefined) config = { ...config, listen: options.listen };

  const logger = createLogger({ level: config.logLevel });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, { logger, interruptStartup: signals.first });
  } catch (error) {
    logger.fatal({ error: error instanceof Error ? error.message : String(error) }, 'cannot start');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return 1;
  }

  const signal = await signals.first;
  server.stopServing();
  logger.info(
    { signal, drainMs: config.shutdown.drainMs },
    'draining: NOT_SERVING, still answering',
  );
  await Promise.race([delay(config.shutdown.drainMs), signals.second]);
  logger.info('shutting down: finishing in-flight checks');
  await server.shutdown(config.shutdown.graceMs);
  logger.info('stopped');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}

function waitForSignals(): { first: Promise<NodeJS.Signals>; second: Promise<unknown> } {
  let count = 0;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => undefined;
  let resolveSecond: () => void = () => undefined;
  const first = new Promise<NodeJS.Signals>((resolve) => {
    resolveFirst = resolve;
  });
  const second = new Promise<void>((resolve) => {
    resolveSecond = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count === 1) resolveFirst(signal);
    else resolveSecond();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { first, second };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
