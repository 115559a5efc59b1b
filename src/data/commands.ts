/** `narrator data stats`: the preparation funnel, split sizes and length statistics, as readable text and as one JSON object. */
import type { CommitInput } from "./commitpackft";
import type { FunnelRecord, Task } from "./example";
import { SPLITS } from "./example";
import type { Lang } from "./langs";
import { parseLangs } from "./langs";
import type { PreparedDatasets } from "./prepare";
import { prepareDatasets } from "./prepare";
import type { SubsetSizes } from "./sampling";
import { lengthStats } from "./stats";
import { countTokensRegex } from "./tokens";

/** Options of `data stats`, as the CLI parses them. */
export interface DataStatsOptions {
  dataDir?: string;
  seed?: number;
  perLanguage?: SubsetSizes;
  lenient?: boolean;
  languages?: readonly string[];
  commitInput?: CommitInput;
}

/** Lay out rows of cells as a table with padded columns (first column left-aligned, the others right-aligned). */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function stageLabel(r: FunnelRecord): string {
  return r.split ? `${r.stage} ${r.split}` : r.stage;
}

function funnelTable(prepared: PreparedDatasets, dataset: Task, langs: readonly Lang[]): string {
  const recs = prepared.funnel.filter((r) => r.dataset === dataset);
  const labels = [...new Set(recs.map(stageLabel))];
  const rows = labels.map((label) => [
    label,
    ...langs.map((l) => {
      const r = recs.find((x) => x.language === l && stageLabel(x) === label);
      return r ? (r.removed ? `${r.out} (-${r.removed})` : String(r.out)) : "";
    }),
  ]);
  return renderTable(["stage (rows out)", ...langs], rows);
}

function splitTable(prepared: PreparedDatasets, dataset: Task, langs: readonly Lang[]): string {
  const perLang = prepared.settings.perLanguage;
  const header = [
    "language",
    ...SPLITS.map((s, k) => `${s} (asked ${Number.isFinite(perLang[k]) ? perLang[k] : "all"})`),
  ];
  const rows = langs.map((l) => [
    l,
    ...SPLITS.map((s) => {
      const r = prepared.splitSizes.find(
        (x) => x.dataset === dataset && x.language === l && x.split === s,
      );
      return r ? `${r.selected} of ${r.available}` : "";
    }),
  ]);
  return renderTable(header, rows);
}

/** Run the preparation and report its funnel, split sizes, warnings and length statistics. */
export async function dataStats(
  options: DataStatsOptions = {},
): Promise<{ text: string; json: object }> {
  const languages = options.languages ? parseLangs(options.languages) : undefined;
  const prepared = await prepareDatasets({
    dataDir: options.dataDir,
    seed: options.seed,
    perLanguage: options.perLanguage,
    lenient: options.lenient,
    languages,
    commitInput: options.commitInput,
  });
  const langs = prepared.settings.languages;
  const parts: string[] = [
    `data: ${prepared.dataDir}`,
    `data hash: ${prepared.dataHash}`,
    `seed: ${prepared.settings.seed}`,
  ];
  for (const dataset of prepared.settings.tasks) {
    const input =
      dataset === "commitpackft" ? ` (input: ${prepared.settings.commitpackft.input})` : "";
    parts.push("", `${dataset}${input}: funnel`, funnelTable(prepared, dataset, langs));
    parts.push(
      "",
      `${dataset}: split sizes (selected of available)`,
      splitTable(prepared, dataset, langs),
    );
  }
  parts.push(
    "",
    prepared.warnings.length ? `warnings (${prepared.warnings.length}):` : "warnings: none",
  );
  for (const w of prepared.warnings) parts.push(`  - ${w.message}`);
  const stats = lengthStats(
    prepared.settings.tasks.flatMap((t) =>
      SPLITS.flatMap((s) => langs.flatMap((l) => prepared.examples[t][s][l])),
    ),
    countTokensRegex,
  );
  const json = {
    dataDir: prepared.dataDir,
    dataHash: prepared.dataHash,
    settings: prepared.settings,
    files: prepared.files,
    funnel: prepared.funnel,
    splitSizes: prepared.splitSizes,
    warnings: prepared.warnings,
    stats,
  };
  return { text: parts.join("\n") + "\n", json };
}
