import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';

/** `tollgate validate FILE`: 0 when the configuration is valid, 1 with the problems otherwise. */
export function validate(file: string): number {
  try {
    const config = loadConfig(file);
    process.stdout.write(
      `${file}: valid (${config.policy.providers.size} providers, ${config.policy.rules.length} rules)\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}
