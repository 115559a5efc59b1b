/** Command-line plumbing shared by every `narrator` command: options, help, errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { parseLangs, type Lang } from "../data/langs";
import { LINEAR_MODULES, type LinearModule } from "../model/config";
import { parseDecimal, parseInteger } from "../util/number";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** A command's parsed option values, by flag name. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** One line for `narrator --help`. */
  summary: string;
  /** Usage text printed by `narrator <command> --help`. */
  usage: string;
  options: Options;
  /** Whether it takes arguments besides its options (its usage names them); others refuse one. */
  takesArguments?: boolean;
  run(values: Values, positionals: string[]): Promise<void>;
}

/** A user error: printed as one line, without a stack trace. */
export class UsageError extends Error {}

/**
 * Parse argv for a command; unknown options, and arguments a command does not take (a file
 * given where stdin is read), are an error naming them.
 */
export function parse(cmd: Command, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${cmd.usage}`);
  }
  const [extra] = parsed.positionals;
  if (!cmd.takesArguments && extra !== undefined) {
    throw new UsageError(`unexpected argument '${extra}': options only\n\n${cmd.usage}`);
  }
  return parsed;
}

/** Options that each take one string value (numbers among them are checked by numberOpt). */
export function stringOptions(...names: string[]): Options {
  return Object.fromEntries(names.map((name) => [name, { type: "string" as const }]));
}

/** A required string option. */
export function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required\n\n${usage}`);
  return v;
}

/**
 * What a number option accepts: integers only (in decimal digits: 1e3 and 0x10 are refused) or
 * any decimal number, within bounds (`min`/`max` inclusive, `above`/`below` exclusive). The
 * description is what an error message shows.
 */
export interface NumberRange {
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** Whether `n` lies in `r`. */
export function inRange(n: number, r: NumberRange): boolean {
  return (
    (!r.integer || Number.isInteger(n)) &&
    (r.min === undefined || n >= r.min) &&
    (r.max === undefined || n <= r.max) &&
    (r.above === undefined || n > r.above) &&
    (r.below === undefined || n < r.below)
  );
}

/** `a whole number >= 1`, `a number in (0, 1]`, `a decimal number`, ... */
export function describeRange(r: NumberRange): string {
  const kind = r.integer ? "a whole number" : "a number";
  const low = r.min !== undefined ? `[${r.min}` : r.above !== undefined ? `(${r.above}` : null;
  const high = r.max !== undefined ? `${r.max}]` : r.below !== undefined ? `${r.below})` : null;
  if (low !== null && high !== null) return `${kind} in ${low}, ${high}`;
  if (low !== null) return `${kind} ${low[0] === "[" ? ">=" : ">"} ${low.slice(1)}`;
  if (high !== null) return `${kind} ${high.endsWith("]") ? "<=" : "<"} ${high.slice(0, -1)}`;
  return r.integer ? kind : "a decimal number";
}

/** The schema inside refinements, transforms, defaults and optionals. */
function innerSchema(schema: z.ZodTypeAny): z.ZodTypeAny {
  if (schema instanceof z.ZodEffects) return innerSchema(schema.innerType());
  if (schema instanceof z.ZodDefault) return innerSchema(schema.removeDefault());
  if (schema instanceof z.ZodOptional) return innerSchema(schema.unwrap());
  return schema;
}

/**
 * The range of each number field of a config's zod object schema, as numberOpt checks it: so that
 * a flag is held to the config's own bounds, and a whole-number field refuses 1e3, 2.0 or a
 * negative count with the flag's name, before the config is validated.
 */
export function schemaNumberRanges(schema: z.ZodTypeAny): Readonly<Record<string, NumberRange>> {
  const object = innerSchema(schema);
  if (!(object instanceof z.ZodObject)) throw new Error("schemaNumberRanges: not an object schema");
  const ranges: Record<string, NumberRange> = {};
  for (const [field, value] of Object.entries(object.shape as z.ZodRawShape)) {
    const number = innerSchema(value);
    if (!(number instanceof z.ZodNumber)) continue;
    const range: NumberRange = {};
    for (const check of number._def.checks) {
      if (check.kind === "int") range.integer = true;
      else if (check.kind === "min") range[check.inclusive ? "min" : "above"] = check.value;
      else if (check.kind === "max") range[check.inclusive ? "max" : "below"] = check.value;
    }
    // A whole number above n is one of at least n + 1, which reads better in an error.
    if (range.integer && range.above !== undefined && Number.isInteger(range.above)) {
      range.min = Math.max(range.min ?? -Infinity, range.above + 1);
      delete range.above;
    }
    ranges[field] = range;
  }
  return ranges;
}

/**
 * An optional number option within `range` (`fallback` when the flag is absent, which may be
 * undefined); an error names the flag, what it accepts and the value given.
 */
export function numberOpt<F extends number | undefined>(
  values: Record<string, unknown>,
  name: string,
  fallback: F,
  range: NumberRange = {},
): number | F {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = typeof v !== "string" ? null : range.integer ? parseInteger(v) : parseDecimal(v);
  if (n === null || !inRange(n, range)) {
    throw new UsageError(`--${name} expects ${describeRange(range)}, got '${String(v)}'`);
  }
  return n;
}

/** --memory-limit GIB as bytes (undefined when absent): the budget a run is estimated against. */
export function memoryLimitOpt(values: Values): number | undefined {
  const gib = numberOpt(values, "memory-limit", undefined, { above: 0 });
  return gib === undefined ? undefined : gib * 2 ** 30;
}

/** Comma-separated integers (e.g. --ids 1,2,3). */
export function intList(v: string, name: string): number[] {
  return v.split(",").map((s, i) => {
    const n = parseInteger(s.trim());
    if (n === null) {
      throw new UsageError(`--${name}: item ${i + 1} ('${s}') is not a whole number`);
    }
    return n;
  });
}

/** Comma-separated words, trimmed, empty items dropped (e.g. --target-modules q_proj,v_proj). */
export function splitList(v: unknown): string[] {
  return String(v)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** --target-modules q_proj,v_proj,...: the projections to adapt; a wrong name is a usage error. */
export function targetModulesOpt(v: Record<string, unknown>): LinearModule[] {
  const names = splitList(v["target-modules"]);
  const expected = `expected some of ${LINEAR_MODULES.join(", ")}`;
  const unknown = names.find((m) => !(LINEAR_MODULES as readonly string[]).includes(m));
  if (unknown !== undefined) {
    throw new UsageError(`--target-modules: unknown module '${unknown}' (${expected})`);
  }
  if (names.length === 0) throw new UsageError(`--target-modules: no module given (${expected})`);
  return names as LinearModule[];
}

/**
 * --languages python,go,...: each named language once, in the order named; none named (no flag,
 * or `--languages ''`) means all six; an unknown language is a usage error.
 */
export function languagesOpt(v: Record<string, unknown>): Lang[] {
  try {
    return parseLangs(v.languages === undefined ? [] : String(v.languages));
  } catch (e) {
    throw new UsageError(`--languages: ${(e as Error).message}`);
  }
}
