import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';

/**
 * `tollgate validate FILE`: 0 when the configuration is valid, 1 with the problems otherwise.
 * Key files are part of the configuration, so they are read too; remote key sets are not
 * fetched (the machine that validates may not reach the identity provider).
 */
export async function validate(file: string): Promise<number> {
  try {
    const config = loadConfig(file);
    const problems: string[] = [];
    for (const provider of config.policy.providers.values()) {
      if (provider.keys.source.kind !== 'file') continue;
      await provider.keys.refresh();
      if (provider.keys.state !== 'ready') {
        problems.push(
          `provider "${provider.name}": ${provider.keys.lastError ?? 'keys not loaded'}`,
        );
      }
    }
    if (problems.length > 0) throw new ConfigError(file, problems);

    process.stdout.write(
      `${file}: valid (${config.policy.providers.size} providers, ` +
        `${config.policy.rules.length} rules)\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}
