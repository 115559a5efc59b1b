/** Command-line plumbing shared by every `narrator` command: options, help, errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { LANGS, parseLangs, type Lang } from "../data/langs";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Command {
  /** One line for `narrator --help`. */
  summary: string;
  /** Usage text printed by `narrator <command> --help`. */
  usage: string;
  options: Options;
  run(
    values: Record<string, string | boolean | string[] | undefined>,
    positionals: string[],
  ): Promise<void>;
}

/** A user error: printed as one line, without a stack trace. */
export class UsageError extends Error {}

/** Parse argv for a command; unknown options are an error naming them. */
export function parse(cmd: Command, argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${cmd.usage}`);
  }
}

/** A required string option. */
export function required(values: Record<string, unknown>, name: string, usage: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required\n\n${usage}`);
  return v;
}

/** An optional number option, validated. */
export function numberOpt(
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  check: (n: number) => boolean = Number.isFinite,
): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !check(n)) {
    throw new UsageError(`--${name} expects a valid number, got '${String(v)}'`);
  }
  return n;
}

/** Comma-separated integers (e.g. --ids 1,2,3). */
export function intList(v: string, name: string): number[] {
  return v.split(",").map((s, i) => {
    const n = Number(s.trim());
    if (s.trim() === "" || !Number.isInteger(n)) {
      throw new UsageError(`--${name}: item ${i + 1} ('${s}') is not an integer`);
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

/** --languages python,go,... (default: all six); an unknown language is a usage error. */
export function languagesOpt(v: Record<string, unknown>): Lang[] {
  if (v.languages === undefined) return [...LANGS];
  try {
    return parseLangs(splitList(v.languages));
  } catch (e) {
    throw new UsageError(`--languages: ${(e as Error).message}`);
  }
}
