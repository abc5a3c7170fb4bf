import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../log/logger.js';
import { startServer } from '../server/start-server.js';

/** Runs the sidecar until SIGTERM or SIGINT; resolves with the process exit code. */
export async function serve(file: string): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }

  const credentialHeaders = [...config.policy.providers.values()].flatMap((provider) =>
    provider.credentials.flatMap((source) => (source.kind === 'header' ? [source.header] : [])),
  );
  const logger = createLogger({ level: config.logLevel, credentialHeaders });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, { logger });
  } catch (error) {
    logger.fatal({ error: error instanceof Error ? error.message : String(error) }, 'cannot start');
    logger.flush();
    return 1;
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info({ signal }, 'shutting down: finishing in-flight checks');
  await server.shutdown();
  logger.info('stopped');
  logger.flush();
  return 0;
}
