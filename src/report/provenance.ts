/** The provenance block every page ends with: who built the report, and what its trials ran with. */
import type { TrialRow } from "../experiments/rows";
import { compareText } from "./figures/style";
import { definitionList } from "./html";
import type { ReportInput, RunProvenance } from "./inputs";

/** Distinct values joined, or "unknown". */
function list(values: readonly string[] | undefined): string {
  return values && values.length ? values.join(", ") : "unknown";
}

/**
 * Provenance of a page: the checkout and packages that built the report, and what the run store
 * recorded of the page's trials (data, models, code, backend), their models and seeds.
 */
export function provenanceBlock(
  input: ReportInput,
  trials: readonly TrialRow[],
  runs: readonly (RunProvenance | undefined)[],
): string {
  const p = input.provenance;
  const models = [...new Set(trials.map((t) => t.model))].sort(compareText);
  const seeds = [...new Set(trials.map((t) => t.seed))].sort((a, b) => a - b);
  const distinct = (field: keyof RunProvenance) =>
    [...new Set(runs.flatMap((r) => r?.[field] ?? []))].sort(compareText);
  const packages = Object.keys(p.packages)
    .sort(compareText)
    .map((k) => `${k} ${p.packages[k]}`)
    .join(", ");
  const build: [string, string][] = [
    ["profile", input.profile],
    [
      "git commit (report)",
      `${p.gitCommit ?? "unknown"}${p.gitDirty ? " (with uncommitted changes)" : ""}`,
    ],
  ];
  const data: [string, string][] = [
    [
      "data hash",
      list(input.data && runs.length === 0 ? [input.data.dataHash] : distinct("dataHashes")),
    ],
  ];
  const trialEntries: [string, string][] = [
    ["code version (trials)", list(distinct("codeVersions"))],
    ["models", models.join(", ") || "—"],
    ["model hash", list(distinct("modelHashes"))],
    ["backend (trials)", list(distinct("backends"))],
    ["seeds", seeds.join(", ") || "—"],
  ];
  const tools: [string, string][] = [
    ["node", p.node ?? "unknown"],
    ["packages", packages || "—"],
  ];
  const entries = [...build, ...data, ...(runs.length ? trialEntries : []), ...tools];
  return `<h2>Provenance</h2>\n${definitionList(entries)}`;
}
