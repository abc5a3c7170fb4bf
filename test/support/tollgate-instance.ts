import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/log/logger.js';
import { type RunningServer, startServer } from '../../src/server/start-server.js';
import { EnvoyClient } from './envoy-client.js';

export interface TollgateInstance {
  readonly server: RunningServer;
  readonly client: EnvoyClient;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** The raw log text, for asserting that no secret ever appears in it. */
  logText(): string;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  /** Clock for token time checks, in seconds since the epoch. */
  nowSeconds?: () => number;
  logLevel?: string;
}

/** Starts tollgate in this process on 127.0.0.1:0 with the given YAML configuration. */
export async function startTollgate(
  yaml: string,
  options: InstanceOptions = {},
): Promise<TollgateInstance> {
  const config = parseConfig(yaml, `${process.cwd()}/test-config.yaml`);
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: options.logLevel ?? 'debug', destination });
  const server = await startServer(
    { ...config, listen: config.listen.startsWith('unix:') ? config.listen : '127.0.0.1:0' },
    { logger, ...(options.nowSeconds === undefined ? {} : { nowSeconds: options.nowSeconds }) },
  );
  const client = new EnvoyClient(server.address);
  const logs = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    server,
    client,
    get logs() {
      return logs();
    },
    logText: () => chunks.join(''),
    stop: async () => {
      client.close();
      await server.shutdown(1000);
    },
  };
}
