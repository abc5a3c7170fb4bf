import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { CompiledConfig } from '../config/compile-config.js';
import { createCheckCodec } from '../envoy/codec.js';
import { loadProtoRoot } from '../envoy/proto-root.js';
import { CheckResponseEncoder } from '../envoy/response-encoder.js';
import { TokenCache } from '../identity/token-cache.js';
import type { Logger } from '../log/logger.js';
import { Decider } from '../pipeline/decide.js';
import { createCheckHandler } from './check-handler.js';
import { HealthService } from './health.js';
import { watchKeySets } from './key-set-watch.js';
import { authorizationService, healthService } from './service-definitions.js';

const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

export interface RunningServer {
  /** The bound address: `host:port` with the real port, or `unix:/path`. */
  readonly address: string;
  readonly health: HealthService;
  readonly decider: Decider;
  /** Reports NOT_SERVING while still answering Checks, so Envoy drains before the port closes. */
  stopServing(): void;
  /** NOT_SERVING, finish in-flight Checks (up to `graceMs`), then close. */
  shutdown(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
  /** Ends the start-up wait for keys early (a signal arrived: no point waiting for SERVING). */
  readonly interruptStartup?: Promise<unknown>;
  /** Clock for token time checks, in seconds since the epoch. Tests freeze it. */
  readonly nowSeconds?: () => number;
}

/**
 * Binds the gRPC server, loads every provider's keys, and reports SERVING once they are loaded
 * or `startup.keyWaitMs` has passed (a provider still without keys then answers 503 for its
 * tokens until a fetch succeeds).
 */
export async function startServer(
  config: CompiledConfig,
  options: StartOptions,
): Promise<RunningServer> {
  const { logger } = options;
  const root = loadProtoRoot();
  const cache = new TokenCache(config.cache.maxTokens, {
    maxBytes: config.cache.maxMegabytes * 1024 * 1024,
    maxTtlSeconds: config.cache.maxTtlSeconds,
  });
  const decider = new Decider(config.policy, cache, options.nowSeconds);
  const health = new HealthService([AUTHORIZATION_SERVICE]);

  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  const codec = createCheckCodec(root);
  const encoder = new CheckResponseEncoder();
  server.addService(authorizationService(codec), {
    Check: createCheckHandler(decider, encoder, logger),
  });
  server.addService(healthService(root), health.handlers);
  const address = await bind(server, config.listen);

  const providers = [...config.policy.providers.values()];
  const keys = watchKeySets(providers, logger);
  await Promise.race([
    keys.waitForFirstLoad(config.startupKeyWaitMs),
    options.interruptStartup ?? new Promise(() => undefined),
  ]);
  // A key file is part of the configuration: if it cannot be read now, it never will be.
  const brokenFile = providers.find(
    (p) => p.keys.source.kind === 'file' && p.keys.state !== 'ready',
  );
  if (brokenFile !== undefined) {
    keys.stop();
    server.forceShutdown();
    throw new Error(
      `provider "${brokenFile.name}": ${brokenFile.keys.lastError ?? 'keys not loaded'}`,
    );
  }
  health.setStatus('SERVING');
  logger.info({ address }, 'serving');

  return {
    address,
    health,
    decider,
    stopServing: () => health.setStatus('NOT_SERVING'),
    shutdown: (graceMs = 10_000) => {
      health.setStatus('NOT_SERVING');
      health.endWatches();
      keys.stop();
      return closeGracefully(server, graceMs);
    },
  };
}

function bind(server: Server, listen: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (error, port) => {
      if (error !== null) {
        reject(new Error(`cannot listen on ${listen}: ${error.message}`));
        return;
      }
      resolve(
        listen.startsWith('unix:') ? listen : `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`,
      );
    });
  });
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.forceShutdown(), graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
