import type { JwtProvider } from '../identity/jwt-provider.js';
import type { KeySetState } from '../identity/key-set.js';
import type { Logger } from '../log/logger.js';

/** Retry period while a provider has no keys at all, in milliseconds. */
const RETRY_WITHOUT_KEYS_MS = 5000;

export interface KeySetWatch {
  /** Resolves when every provider's first load has ended, or after `waitMs`. */
  waitForFirstLoad(waitMs: number): Promise<void>;
  stop(): void;
}

/**
 * Loads each provider's keys, refreshes remote ones in the background and logs each change of
 * state once (loaded, failing, recovered), not once per request.
 */
export function watchKeySets(providers: readonly JwtProvider[], logger: Logger): KeySetWatch {
  const lastLogged = new Map<string, KeySetState | 'stale'>();

  const refresh = async (provider: JwtProvider) => {
    await provider.keys.refresh();
    const { state, lastError } = provider.keys;
    const now = state === 'ready' && lastError !== undefined ? 'stale' : state;
    if (lastLogged.get(provider.name) === now) return;
    lastLogged.set(provider.name, now);
    const fields = { provider: provider.name, keys: provider.keys.source.kind, error: lastError };
    if (now === 'ready') logger.info(fields, 'provider keys loaded');
    else if (now === 'stale')
      logger.warn(fields, 'provider keys could not be refreshed; keeping the keys held');
    else logger.error(fields, 'provider keys could not be loaded; its tokens are answered 503');
  };

  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  const schedule = (provider: JwtProvider) => {
    if (stopped) return;
    const { keys } = provider;
    if (keys.source.kind === 'file' && keys.state === 'ready') return;
    const delayMs = keys.state === 'ready' ? keys.options.refreshMs : RETRY_WITHOUT_KEYS_MS;
    const timer = setTimeout(() => void refresh(provider).then(() => schedule(provider)), delayMs);
    timers.set(provider.name, timer.unref());
  };

  const first = Promise.all(
    providers.map((provider) => refresh(provider).then(() => schedule(provider))),
  );

  return {
    waitForFirstLoad: async (waitMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      });
      await Promise.race([first, timeout]);
      clearTimeout(timer);
    },
    stop: () => {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}
