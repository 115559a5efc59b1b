/**
 * Trial identity. A trial's run-store key is the sha256 of the canonical JSON of what determines
 * its numbers: the resolved spec (less the experiment's name, label and setting names, so that two
 * experiments sharing a trial share its run), a fingerprint of the data files and model files it
 * reads, and the code version (a hash of the sources under src/, so that documentation commits
 * keep results). The spec alone hashes to the spec id, which survives code changes: the Results
 * API uses it to find a trial's latest results when the sources have moved on.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalJson } from "../util/canonical_json";
import { datasetFiles } from "../data/sources";
import { readJson, sha256OfFile, writeJsonAtomic } from "../util/fs";
import { heldOutDataDir } from "./paths";
import { tasksRead, type TrialSpec } from "./trials";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** What of a spec determines the numbers (labels and experiment names do not). */
export function specIdentity(spec: TrialSpec): object {
  return {
    modelDir: spec.modelDir,
    trainedOn: spec.trainedOn,
    seed: spec.seed,
    train: spec.train,
    evaluate: spec.evaluate,
  };
}

/** sha256 of a spec's identity alone. */
export function specId(spec: TrialSpec): string {
  return sha256(canonicalJson(specIdentity(spec)));
}

/** The fingerprints a key is made of, besides the spec. */
export interface KeyInputs {
  dataHash: string;
  modelHash: string;
  codeVersion: string;
}

/** The run-store key of a trial. */
export function trialKey(spec: TrialSpec, inputs: KeyInputs): string {
  return sha256(canonicalJson({ spec: specIdentity(spec), ...inputs }));
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
    })
    .sort();
}

/** The sources' directory (this file's parent's parent). */
export const SOURCE_DIR = path.resolve(__dirname, "..");

/**
 * Folders of src/ that only present results (figures, pages, notebooks, narration, the command
 * line): editing them leaves every trial's numbers as they were, so they are not in the key.
 */
export const PRESENTATION_DIRS: readonly string[] = ["cli", "narrate", "notebooks", "report"];

/** sha256 over every file under src/ that can change a trial's numbers (relative path and content). */
export function codeVersion(srcDir = SOURCE_DIR): string {
  const hash = createHash("sha256");
  const counted = (f: string) =>
    !PRESENTATION_DIRS.includes(path.relative(srcDir, f).split(path.sep)[0]);
  for (const f of filesUnder(srcDir).filter(counted)) {
    hash.update(`${path.relative(srcDir, f).split(path.sep).join("/")}\t`);
    hash.update(createHash("sha256").update(fs.readFileSync(f)).digest("hex") + "\n");
  }
  return hash.digest("hex");
}

interface CachedHash {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/**
 * sha256 of files, remembered in a JSON file by path, size and modification time, so that a sweep
 * hashes a large data or model file once, not at every start.
 */
export class FileHashes {
  private readonly cache: Record<string, CachedHash>;
  private dirty = false;

  constructor(private readonly cacheFile: string | null) {
    this.cache =
      cacheFile && fs.existsSync(cacheFile) ? readJson<Record<string, CachedHash>>(cacheFile) : {};
  }

  /** The sha256 of a file (from the cache when its size and mtime are unchanged). */
  async of(file: string): Promise<string> {
    const abs = path.resolve(file);
    const st = fs.statSync(abs);
    const hit = this.cache[abs];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
    const sha = await sha256OfFile(abs);
    this.cache[abs] = { size: st.size, mtimeMs: st.mtimeMs, sha256: sha };
    this.dirty = true;
    return sha;
  }

  /** One hash over files, by their paths relative to `root`. */
  async ofFiles(root: string, files: readonly string[]): Promise<string> {
    const lines = await Promise.all(
      [...files]
        .sort()
        .map(
          async (f) => `${path.relative(root, f).split(path.sep).join("/")}\t${await this.of(f)}`,
        ),
    );
    return sha256(lines.join("\n"));
  }

  /** Fingerprint of the data files a trial reads (with its held-out dataset's, when it has one). */
  async dataHash(dataDir: string, spec: TrialSpec): Promise<string> {
    const files = tasksRead(spec).flatMap((t) =>
      spec.evaluate.languages.flatMap((l) => datasetFiles(dataDir, t, l)),
    );
    const own = await this.ofFiles(dataDir, files);
    if (spec.evaluate.heldOut === undefined) return own;
    const heldOutDir = heldOutDataDir(spec.evaluate.heldOut);
    const heldOut = spec.evaluate.tasks.flatMap((t) =>
      spec.evaluate.languages.flatMap((l) => datasetFiles(heldOutDir, t, l)),
    );
    return sha256(`${own}\nheld-out\t${await this.ofFiles(heldOutDir, heldOut)}`);
  }

  /** Fingerprint of a model directory's files. */
  async modelHash(modelDir: string): Promise<string> {
    if (!fs.existsSync(modelDir)) throw new Error(`model directory ${modelDir} does not exist`);
    return this.ofFiles(modelDir, filesUnder(modelDir));
  }

  /** Write the cache back (atomically) when something was hashed. */
  save(): void {
    if (this.cacheFile && this.dirty) writeJsonAtomic(this.cacheFile, this.cache);
    this.dirty = false;
  }
}
