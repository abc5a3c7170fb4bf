import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
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
    // prettyErrors puts a source excerpt after the first line, which ends with "column N:".
    throw new ConfigError(
      file,
      document.errors.map((error) => `YAML: ${error.message.split('\n')[0]?.replace(/:$/, '')}`),
    );
  }

  // Unresolved aliases and alias bombs are only found while building values, as ReferenceError.
  let value: unknown;
  try {
    value = document.toJS();
  } catch (error) {
    throw new ConfigError(file, [
      `YAML: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }

  const parsed = configSchema.safeParse(value ?? {});
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.flatMap(describeIssue));
  return compileConfig(parsed.data, { file, baseDir: dirname(resolve(file)) });
}

/** One problem per unknown key, named by its own path, so a typo reads `rules[0].match.pathz`. */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatFieldPath([...issue.path, key])}: unknown option`);
  }
  return [`${formatFieldPath(issue.path)}: ${issue.message}`];
}
