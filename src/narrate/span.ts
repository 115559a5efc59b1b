/** Where a function sits in its source file: what each language's scanner reports. */

/** A function or method found in a source file. */
export interface FunctionSpan {
  /** The name as declared (`parse`, `to_s`, `Next`). */
  name: string;
  /** Enclosing classes, modules and functions with the name, joined by "." (`Parser.parse`). */
  qualifiedName: string;
  /** Offset of the declaration's first character (modifiers and annotations on its line(s) included). */
  start: number;
  /** Offset one past its last character (the closing brace, `end`, or the body's last line). */
  end: number;
}

/** Join enclosing scope names and a name (unnamed scopes are skipped). */
export function qualify(scopes: readonly (string | null)[], name: string): string {
  return [...scopes.filter((s): s is string => s !== null), name].join(".");
}
