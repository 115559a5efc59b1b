/**
 * Planning a sweep: trials get their run-store keys, trials shared by several experiments are kept
 * once, and `--shard i/n` takes a stable part of them (every n-th key in key order, from the i-th),
 * so that n processes (Slurm array tasks, Kubernetes indexed Jobs) against one store split the
 * work without talking to each other.
 */
import * as path from "node:path";
import { PROJECT_ROOT } from "./paths";
import { codeVersion, FileHashes, specId, trialKey } from "./key";
import type { RunStore, SpecRecord } from "./store";
import type { TrialSpec } from "./trials";

/** The spec records (with keys) of trials, in the same order; hashes of files are cached in the store. */
export async function keyTrials(
  specs: readonly TrialSpec[],
  opts: { store: RunStore; dataDir: string; code?: string },
): Promise<SpecRecord[]> {
  const hashes = new FileHashes(opts.store.fileHashes);
  const code = opts.code ?? codeVersion();
  const createdAt = new Date().toISOString();
  const records: SpecRecord[] = [];
  for (const spec of specs) {
    const inputs = {
      dataHash: await hashes.dataHash(opts.dataDir, spec),
      modelHash: await hashes.modelHash(path.resolve(PROJECT_ROOT, spec.modelDir)),
      codeVersion: code,
    };
    records.push({ key: trialKey(spec, inputs), specId: specId(spec), createdAt, spec, ...inputs });
  }
  hashes.save();
  return records;
}

/** Records with distinct keys, first occurrence kept (in order). */
export function uniqueByKey(records: readonly SpecRecord[]): SpecRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => !seen.has(r.key) && seen.add(r.key));
}

/** A shard: index in [0, count). */
export interface Shard {
  index: number;
  count: number;
}

/** Parse "i/n" (0 <= i < n); errors say what was expected. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count)
    throw new Error(`--shard expects i/n with 0 <= i < n (e.g. 0/4), got '${text}'`);
  return { index, count };
}

/** The records of shard i of n: sorted by key, every n-th from the i-th, then back in plan order. */
export function selectShard<T extends { key: string }>(records: readonly T[], shard: Shard): T[] {
  const keys = [...new Set(records.map((r) => r.key))].sort();
  const mine = new Set(keys.filter((_, i) => i % shard.count === shard.index));
  return records.filter((r) => mine.has(r.key));
}
