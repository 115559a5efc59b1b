/**
 * Where a run's result.json says things are. The record names no machine's folders: the run
 * folder (config.out) by its run name (src/util/root.ts runName: the path from the repository
 * root, or runs/<folder name> outside the checkout), and each output (metrics.jsonl, adapter/,
 * model/) as that name joined with its path inside the run folder. Read back, the outputs are
 * re-rooted at the folder the record was read from, by their path inside the recorded run folder:
 * records written before run names (absolute folders) read the same way, so a run folder that
 * moved, or was copied to another machine, still finds its outputs.
 */
import * as path from "node:path";
import { PROJECT_ROOT, runName } from "../util/root";

/** What a result says of where things are: the run folder, and its outputs by kind. */
export interface RunPaths {
  config: { out: string };
  outputs: Readonly<Record<string, string | undefined>>;
}

function mapOutputs<O extends RunPaths["outputs"]>(outputs: O, f: (file: string) => string): O {
  return Object.fromEntries(
    Object.entries(outputs).map(([kind, file]) => [kind, file === undefined ? file : f(file)]),
  ) as O;
}

/** `file`'s path inside `dir` (either may be relative), or null when it lies outside. */
function inside(dir: string, file: string): string | null {
  const rel = path.relative(dir, file);
  return rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? null : rel;
}

/** A result as result.json records it (see the module comment); `result` is left as it is. */
export function runRecord<T extends RunPaths>(result: T): T {
  const name = runName(result.config.out);
  const outputs = mapOutputs(result.outputs, (file) => {
    const rel = inside(result.config.out, file);
    return rel === null ? file : path.posix.join(name, ...rel.split(path.sep));
  });
  return { ...result, config: { ...result.config, out: name }, outputs };
}

/**
 * A result.json read from the run folder `out`: config.out is `out`, and each output lies at its
 * path inside the recorded run folder, under `out`; an output recorded outside its run folder is
 * read from the repository root when relative.
 */
export function resolveRunRecord<T extends RunPaths>(record: T, out: string): T {
  const outputs = mapOutputs(record.outputs, (file) => {
    const rel = inside(record.config.out, file);
    return rel === null ? path.resolve(PROJECT_ROOT, file) : path.join(out, rel);
  });
  return { ...record, config: { ...record.config, out }, outputs };
}
