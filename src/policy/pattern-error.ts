/**
 * A path or host pattern in the configuration that cannot be compiled. Thrown at start-up only;
 * the config loader adds the option's name and file to the message.
 */
export class PatternError extends Error {
  /** The pattern as written in the configuration. */
  readonly pattern: string;

  constructor(pattern: string, message: string) {
    super(message);
    this.name = 'PatternError';
    this.pattern = pattern;
  }
}
