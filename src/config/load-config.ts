import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { type CompiledConfig, compileConfig } from './compile-config.js';
import { ConfigError, formatFieldPath } from './config-error.js';
import { configSchema } from './schema.js';

/**
 * Reads, validates and compiles a configuration file. Throws ConfigError listing every problem
 * found; never returns a partially valid configuration.
 */
export function loadConfig(file: string): CompiledConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(file, [`cannot read the file (${code})`]);
  }
  return parseConfig(text, file);
}

/** Validates configuration text; `file` names it in errors and anchors relative paths. */
export function parseConfig(text: string, file: string): CompiledConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((error) => `YAML: ${error.message.split('\n')[0]}`),
    );
  }

  const parsed = configSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((issue) => `${formatFieldPath(issue.path)}: ${issue.message}`),
    );
  }
  return compileConfig(parsed.data, { file, baseDir: dirname(resolve(file)) });
}
