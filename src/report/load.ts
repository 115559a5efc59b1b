/**
 * Gather a report's input from the project: each experiment's results through the Results API,
 * what the run store recorded of its trials (data, model and code hashes, backend), the data
 * preparation summary, and the checkout and package versions that build the report.
 */
import { loadResults } from "../experiments/results";
import { loadProfile, withEvalData, type Profile } from "../experiments/profile";
import { RunStore } from "../experiments/store";
import { dataStats } from "../data/commands";
import { checkoutState } from "../util/git";
import { packageVersion } from "../util/packages";
import { compareText } from "./figures/style";
import {
  EXPERIMENTS,
  type DataSummary,
  type ExperimentName,
  type ExperimentResults,
  type ReportInput,
  type ReportProvenance,
  type RunProvenance,
} from "./inputs";

/** Where to find results and data. */
export interface LoadReportOptions {
  /** Profile name (default mini). */
  profile?: string;
  /** Run store (default runs/<profile>). */
  store?: string;
  /** Definitions and profiles (default the project's experiments/). */
  experimentsDir?: string;
  /** Data directory for the data page (default NARRATOR_DATA, else data/). */
  data?: string;
  /** The held-out dataset the sweeps evaluated (default the profile's evalData). */
  evalData?: string;
}

/** The packages whose versions every page names. */
const PACKAGES = [
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-wasm",
  "vega",
  "vega-lite",
  "vega-embed",
];

/** The checkout and packages building the report. */
export function reportProvenance(): ReportProvenance {
  return {
    ...checkoutState(),
    node: process.version,
    packages: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
  };
}

/** What the store recorded of an experiment's trials (completed or failed ones). */
export function runProvenance(store: string, keys: readonly string[]): RunProvenance {
  const runs = new RunStore(store);
  const sets = {
    dataHashes: new Set<string>(),
    modelHashes: new Set<string>(),
    codeVersions: new Set<string>(),
    backends: new Set<string>(),
  };
  for (const key of keys) {
    const spec = runs.readSpec(key);
    if (spec) {
      sets.dataHashes.add(spec.dataHash);
      sets.modelHashes.add(spec.modelHash);
      sets.codeVersions.add(spec.codeVersion);
    }
    const backend = runs.readResult(key)?.backend;
    if (backend) sets.backends.add(backend);
  }
  const sorted = (s: Set<string>) => [...s].sort(compareText);
  return {
    dataHashes: sorted(sets.dataHashes),
    modelHashes: sorted(sets.modelHashes),
    codeVersions: sorted(sets.codeVersions),
    backends: sorted(sets.backends),
  };
}

/** The data funnel at the profile's languages and sizes; null (with the reason) when the data is not here. */
export async function profileDataSummary(
  profile: Profile,
  dataDir?: string,
): Promise<{ data: DataSummary | null; error: string | null }> {
  try {
    const dataSeed = profile.train.dataSeed;
    const { json } = await dataStats({
      dataDir,
      languages: profile.languages,
      perLanguage: [profile.sizes.train, profile.sizes.val, profile.sizes.test],
      seed: typeof dataSeed === "number" ? dataSeed : undefined,
      lenient: profile.train.lenient === true,
    });
    return { data: json as DataSummary, error: null };
  } catch (e) {
    return { data: null, error: (e as Error).message };
  }
}

/** Everything a profile's report is built from; an experiment that cannot be loaded is reported as such. */
export async function loadReportInput(opts: LoadReportOptions = {}): Promise<ReportInput> {
  const profile = withEvalData(loadProfile(opts.profile, opts.experimentsDir), opts.evalData);
  const experiments: Partial<Record<ExperimentName, ExperimentResults>> = {};
  const runs: Partial<Record<ExperimentName, RunProvenance>> = {};
  const unavailable: Partial<Record<ExperimentName, string>> = {};
  for (const name of EXPERIMENTS) {
    try {
      const r = await loadResults(name, {
        profile,
        store: opts.store,
        experimentsDir: opts.experimentsDir,
        data: opts.data,
      });
      experiments[name] = r;
      runs[name] = runProvenance(
        r.store,
        r.trials.filter((t) => t.status === "completed" || t.status === "failed").map((t) => t.key),
      );
    } catch (e) {
      unavailable[name] = (e as Error).message;
    }
  }
  const { data, error } = await profileDataSummary(profile, opts.data);
  return {
    profile: profile.name,
    transfer: profile.transfer,
    experiments,
    runs,
    unavailable,
    data: data ?? undefined,
    dataError: error ?? undefined,
    provenance: reportProvenance(),
  };
}
