/** Where a function sits in its source file, and its doc comment: what each language's scanner reports. */

/** A function or method found in a source file. */
export interface FunctionSpan {
  /** The name as declared (`parse`, `to_s`, `Next`). */
  name: string;
  /** Enclosing classes, modules and functions with the name, joined by "." (`Parser.parse`). */
  qualifiedName: string;
  /**
   * What the function is a member of, when that is its direct scope: a class, module, trait or
   * interface, a Go receiver type, the object a JavaScript function is assigned to
   * (`module.exports`); else null. Datasets name functions `owner.name`.
   */
  owner: string | null;
  /** Offset of the declaration's first character (modifiers and annotations on its line(s) included). */
  start: number;
  /** Offset one past its last character (the closing brace, `end`, or the body's last line). */
  end: number;
  /** Its doc comment as datasets hold it (see src/source/doc_comments.ts), or null. */
  doc: string | null;
}

/** Join enclosing scope names and a name (unnamed scopes are skipped). */
export function qualify(scopes: readonly (string | null)[], name: string): string {
  return [...scopes.filter((s): s is string => s !== null), name].join(".");
}
