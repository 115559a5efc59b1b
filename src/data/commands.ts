/** `narrator data stats` and `data prepare`: the preparation funnel, split sizes, length statistics and the prepared cache, as readable text and as one JSON object. */
import { prepareCached } from "./cache";
import type { CommitInput } from "./commitpackft";
import type { FunnelRecord, Task } from "./example";
import { SPLITS, TASKS } from "./example";
import type { Lang } from "./langs";
import { parseLangs } from "./langs";
import type { PreparedDatasets } from "./prepare";
import { prepareDatasets } from "./prepare";
import type { SubsetSizes } from "./sampling";
import { frameToJson, statsFrame } from "./frame";
import type { StatsRow } from "./stats";
import { countTokensRegex } from "./tokens";
import { renderTable } from "../util/text_table";

/** Options of `data stats`, as the CLI parses them. */
export interface DataStatsOptions {
  dataDir?: string;
  seed?: number;
  perLanguage?: SubsetSizes;
  lenient?: boolean;
  languages?: readonly string[];
  commitInput?: CommitInput;
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
  const stats = frameToJson<StatsRow>(
    statsFrame(
      prepared.settings.tasks.flatMap((t) =>
        SPLITS.flatMap((s) => langs.flatMap((l) => prepared.examples[t][s][l])),
      ),
      countTokensRegex,
    ),
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

/** Options of `data prepare`: those of `data stats`, the cache directory and a tokenizer.json. */
export interface DataPrepareOptions extends DataStatsOptions {
  cacheDir?: string;
  tokenizer?: string;
}

/** Prepare the datasets into the cache (or find them there) and report where, whether reused, and the counts. */
export async function dataPrepare(
  options: DataPrepareOptions = {},
): Promise<{ text: string; json: object }> {
  const r = await prepareCached({
    dataDir: options.dataDir,
    cacheDir: options.cacheDir,
    tokenizer: options.tokenizer,
    seed: options.seed,
    perLanguage: options.perLanguage,
    lenient: options.lenient,
    languages: options.languages ? parseLangs(options.languages) : undefined,
    commitInput: options.commitInput,
  });
  const m = r.manifest;
  const tok = m.tokenizer;
  const parts = [
    `cache: ${r.dir} (${r.reused ? "reused" : r.damaged ? `damaged, rebuilt: ${r.damaged}` : "written"})`,
    `data: ${m.dataDir}`,
    `data hash: ${m.dataHash}`,
    `tokenizer: ${tok ? `${tok.file} (sha256 ${tok.sha256})` : "none"}`,
  ];
  for (const task of TASKS.filter((t) => m.settings.tasks.includes(t))) {
    const rows = m.settings.languages.map((l) => [
      l,
      ...SPLITS.map((s) => {
        const g = m.groups.find((x) => x.task === task && x.split === s && x.language === l);
        if (!g) return "";
        return g.tokens ? `${g.examples} (${g.tokens.count} ids)` : String(g.examples);
      }),
    ]);
    parts.push(
      "",
      `${task}: examples${tok ? " (token ids)" : ""}`,
      renderTable(["language", ...SPLITS], rows),
    );
  }
  parts.push("", r.warnings.length ? `warnings (${r.warnings.length}):` : "warnings: none");
  for (const w of r.warnings) parts.push(`  - ${w.message}`);
  const json = {
    cacheDir: r.dir,
    key: r.key,
    reused: r.reused,
    damaged: r.damaged ?? null,
    dataDir: m.dataDir,
    dataHash: m.dataHash,
    tokenizer: tok,
    groups: m.groups,
    warnings: r.warnings,
  };
  return { text: parts.join("\n") + "\n", json };
}
