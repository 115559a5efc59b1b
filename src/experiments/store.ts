/**
 * The run store: one directory per trial, named by its key, shared by every experiment, shard and
 * worker that runs against it.
 *
 *   <store>/trials/<key>/spec.json    the resolved spec and the fingerprints of its key
 *                        result.json  the trial's metrics; written atomically, last: its presence means done
 *                        error.json   why the trial failed (absent once it succeeds)
 *                        lock         the claim of the process running it: {pid, host, startedAt}
 *                        log          the trainer's events, one line each
 *                        run/         the trainer's output (metrics.jsonl, adapter/, checkpoints)
 *   <store>/file-hashes.json          cached sha256 of data and model files
 *
 * A claim is an exclusive create of `lock`; a lock left by a dead process of this host is stale
 * and taken over (locks of other hosts are respected: remove them by hand if their job is gone).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readJson, writeJsonAtomic } from "../util/fs";
import { PROJECT_ROOT } from "./paths";
import type { TrialStatus } from "./rows";
import type { KeyInputs } from "./key";
import type { TrialSpec } from "./trials";
import type { TrialOutcome } from "./run_trial";

/** spec.json. */
export interface SpecRecord extends KeyInputs {
  key: string;
  specId: string;
  createdAt: string;
  spec: TrialSpec;
}

/** result.json: the outcome of a completed trial. */
export interface ResultRecord extends TrialOutcome {
  key: string;
  finishedAt: string;
  host: string;
}

/** error.json. */
export interface ErrorRecord {
  key: string;
  message: string;
  stack: string | null;
  failedAt: string;
  host: string;
}

/** lock. */
export interface LockRecord {
  pid: number;
  host: string;
  startedAt: string;
}

/** The default store of a profile: <NARRATOR_RUNS, else runs/ in the project>/<profile>. */
export function defaultStoreDir(profile: string): string {
  return path.join(process.env.NARRATOR_RUNS ?? path.join(PROJECT_ROOT, "runs"), profile);
}

/** Whether a process of this host is alive. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class RunStore {
  constructor(readonly root: string) {}

  /** The directory of a trial. */
  dir(key: string): string {
    return path.join(this.root, "trials", key);
  }
  file(
    key: string,
    name: "spec.json" | "result.json" | "error.json" | "lock" | "log" | "run",
  ): string {
    return path.join(this.dir(key), name);
  }
  get fileHashes(): string {
    return path.join(this.root, "file-hashes.json");
  }

  /** Keys of every trial directory in the store, sorted. */
  keys(): string[] {
    const dir = path.join(this.root, "trials");
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  }

  /** The one key starting with `prefix`; errors say when none or several do. */
  resolveKey(prefix: string): string {
    const hits = this.keys().filter((k) => k.startsWith(prefix));
    if (hits.length === 1) return hits[0];
    if (hits.length === 0) throw new Error(`no trial ${prefix} in ${this.root}`);
    throw new Error(
      `${prefix} matches ${hits.length} trials in ${this.root}: give more of the key`,
    );
  }

  /** The trial's lock if a live process holds it (stale locks of dead local processes do not count). */
  liveLock(key: string): LockRecord | null {
    const lock = this.readLock(key);
    return lock && !isStale(lock) ? lock : null;
  }

  /** Where a trial stands: completed (result.json), failed (error.json), running (live lock), else pending. */
  status(key: string): TrialStatus {
    if (fs.existsSync(this.file(key, "result.json"))) return "completed";
    if (this.liveLock(key)) return "running";
    if (fs.existsSync(this.file(key, "error.json"))) return "failed";
    return "pending";
  }

  /** Claim a trial for this process; false when another live process holds it. */
  claim(key: string, pid = process.pid): boolean {
    const lockFile = this.file(key, "lock");
    fs.mkdirSync(this.dir(key), { recursive: true });
    const record: LockRecord = { pid, host: os.hostname(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(lockFile, JSON.stringify(record) + "\n", { flag: "wx" });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const held = this.readLock(key);
      if (held && !isStale(held)) return false;
      // Stale (or unreadable: a claim caught between create and write is retried once).
      if (held) fs.rmSync(lockFile, { force: true });
    }
    return false;
  }

  /** Give up a claim (only a lock this process, or `pid`, holds). */
  release(key: string, pid = process.pid): void {
    const lock = this.readLock(key);
    if (lock && lock.pid === pid && lock.host === os.hostname())
      fs.rmSync(this.file(key, "lock"), { force: true });
  }

  readLock(key: string): LockRecord | null {
    try {
      return JSON.parse(fs.readFileSync(this.file(key, "lock"), "utf8")) as LockRecord;
    } catch {
      return null;
    }
  }

  writeSpec(record: SpecRecord): void {
    writeJsonAtomic(this.file(record.key, "spec.json"), record);
  }
  readSpec(key: string): SpecRecord | null {
    const f = this.file(key, "spec.json");
    return fs.existsSync(f) ? readJson<SpecRecord>(f) : null;
  }

  /** Record a trial's outcome (and clear an earlier failure). */
  writeResult(key: string, outcome: TrialOutcome): void {
    const record: ResultRecord = {
      key,
      finishedAt: new Date().toISOString(),
      host: os.hostname(),
      ...outcome,
    };
    writeJsonAtomic(this.file(key, "result.json"), record);
    fs.rmSync(this.file(key, "error.json"), { force: true });
  }
  readResult(key: string): ResultRecord | null {
    const f = this.file(key, "result.json");
    return fs.existsSync(f) ? readJson<ResultRecord>(f) : null;
  }

  writeError(key: string, error: { message: string; stack?: string }): void {
    const record: ErrorRecord = {
      key,
      message: error.message,
      stack: error.stack ?? null,
      failedAt: new Date().toISOString(),
      host: os.hostname(),
    };
    writeJsonAtomic(this.file(key, "error.json"), record);
  }
  readError(key: string): ErrorRecord | null {
    const f = this.file(key, "error.json");
    return fs.existsSync(f) ? readJson<ErrorRecord>(f) : null;
  }

  /** Remove a trial's outcome and outputs, to run it again from scratch (--force). */
  reset(key: string): void {
    for (const name of ["result.json", "error.json", "log", "run"] as const)
      fs.rmSync(this.file(key, name), { recursive: true, force: true });
  }
}

function isStale(lock: LockRecord): boolean {
  return lock.host === os.hostname() && !processAlive(lock.pid);
}
