/**
 * A configuration tollgate refuses to run with. Each problem names the file, the field path
 * (`rules[2].match.paths[0]`) and what is wrong, so the operator can fix it without guessing.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${file}: invalid configuration\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
    );
  }
}

/** Formats a path of keys and indexes the way a reader writes it: `rules[2].match.paths[0]`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text.length === 0 ? String(key) : `.${String(key)}`;
  }
  return text.length === 0 ? '(top level)' : text;
}
