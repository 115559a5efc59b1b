/** Field checks for tokenizer.json; every error names the file and the field path. */

export type Json = Record<string, unknown>;

/** Error naming the field at `where` and what was expected there. */
export function fieldError(where: string, expected: string, got: unknown): Error {
  const shown = got === undefined ? "nothing" : JSON.stringify(got)?.slice(0, 80);
  return new Error(`${where}: expected ${expected}, got ${shown}`);
}

/** A JSON object at `where`. */
export function asObject(v: unknown, where: string): Json {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw fieldError(where, "an object", v);
  return v as Json;
}

/** A string at `where`. */
export function asString(v: unknown, where: string): string {
  if (typeof v !== "string") throw fieldError(where, "a string", v);
  return v;
}

/** A boolean at `where`, or `fallback` when the field is absent or null. */
export function asBool(v: unknown, where: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw fieldError(where, "true or false", v);
  return v;
}

/** An array at `where`. */
export function asArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw fieldError(where, "an array", v);
  return v;
}

/** A non-negative integer at `where`. */
export function asId(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
    throw fieldError(where, "a non-negative integer id", v);
  return v;
}

/** The `type` tag of a component object at `where`. */
export function typeOf(v: Json, where: string): string {
  return asString(v.type, `${where}.type`);
}

/** An error for a component whose `type` this project does not implement. */
export function unsupported(where: string, type: string, supported: string[]): Error {
  return new Error(
    `${where}.type: unsupported ${JSON.stringify(type)} (supported: ${supported.join(", ")})`,
  );
}
