/**
 * Case mapping for protocol elements (hosts, methods, header names), which are ASCII by
 * definition. String#toLowerCase and #toUpperCase follow Unicode instead: the Kelvin sign "K"
 * lower-cases to "k" and "ſ" (long s) upper-cases to "S", so a look-alike could turn into the
 * name a rule or a credential source expects.
 */

const UPPER_CASE_RUN = /[A-Z]+/g;
const LOWER_CASE_RUN = /[a-z]+/g;

/** Lower-cases A-Z only; returns `text` itself when it has no A-Z. */
export function lowerCaseAscii(text: string): string {
  // When Unicode lower-casing changes nothing, there is no A-Z either. That is the common case
  // (Envoy sends lower-case header names), and the engine's native check is the fastest there.
  if (text.toLowerCase() === text) return text;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) {
      return text.replace(UPPER_CASE_RUN, (run) => run.toLowerCase());
    }
  }
  return text;
}

/** Upper-cases a-z only; returns `text` itself when it has no a-z. */
export function upperCaseAscii(text: string): string {
  // As in lowerCaseAscii: no Unicode change means no a-z, and methods arrive upper-case.
  if (text.toUpperCase() === text) return text;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x61 && code <= 0x7a) {
      return text.replace(LOWER_CASE_RUN, (run) => run.toUpperCase());
    }
  }
  return text;
}
