/**
 * The README's narration table: what the shipped narrator says about the hand-written examples
 * in examples/narrations (six functions, one per language, and two diffs), decoded greedily and by
 * beam search, beside what each example does in words written by hand. `npm run narrations`
 * rewrites the table between the README's markers; the same model and examples give the same bytes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { z } from "zod";
import { initBackend } from "../backend/backend";
import { SOURCE_LANG_NAMES } from "../source/languages";
import { writeFileAtomic } from "../util/fs";
import { explainDiff, explainFile, type DiffExplanation, type FileExplanation } from "./explain";
import { markdownText } from "./format";
import { Narrator, type NarratorOptions } from "./narrator";

const ExamplesSchema = z
  .object({
    functions: z.array(
      z.object({ file: z.string().min(1), function: z.string().min(1), what: z.string().min(1) }),
    ),
    diffs: z.array(z.object({ file: z.string().min(1), what: z.string().min(1) })),
  })
  .strict();
type Examples = z.infer<typeof ExamplesSchema>;

export const EXAMPLES_DIR = "examples/narrations";
export const TABLE_START = "<!-- narrations:start (npm run narrations writes this table) -->";
export const TABLE_END = "<!-- narrations:end -->";

/** The shipped narrator, and the decodings the table compares. */
const MODEL = "models/narrator-8m";
const ADAPTER = "models/narrator-8m-cocktail/adapter";
const MAX_NEW_TOKENS = 24;
// Beam settings as on the adapter's card: chosen on the validation split.
const DECODINGS: { title: string; options: Pick<NarratorOptions, "beams" | "lengthPenalty"> }[] = [
  { title: "greedy", options: {} },
  { title: "beam search, 4 beams", options: { beams: 4, lengthPenalty: 0 } },
];

/** examples.json, checked. */
export function readExamples(dir: string): Examples {
  const file = path.join(dir, "examples.json");
  const parsed = ExamplesSchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** One row: an example, what it does, and what each decoding said. */
export interface TableRow {
  example: string;
  language: string;
  what: string;
  said: (FileExplanation | DiffExplanation)[];
}

function cell(e: FileExplanation | DiffExplanation): string {
  const text = e.explanation === "" ? "*(no text)*" : `"${markdownText(e.explanation)}"`;
  const notes = e.notes.map((n) => ` *(${markdownText(n)})*`).join("");
  return (text + notes).replace(/\n/g, " ");
}

/** The Markdown table and the line saying how it was made. */
export function renderTable(rows: readonly TableRow[], provenance: string): string {
  const head = ["Example", "Language", "What it does (by hand)", ...DECODINGS.map((d) => d.title)];
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map(
      (r) =>
        `| ${[r.example, r.language, markdownText(r.what), ...r.said.map(cell)].join(" | ")} |`,
    ),
  ];
  return [...lines, "", provenance].join("\n");
}

/** `readme` with the text between the markers replaced by `table`. */
export function replaceTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(`README.md: expected the markers ${TABLE_START} and ${TABLE_END}, in order`);
  }
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

/** Narrate every example with every decoding. */
export async function narrationRows(
  dir: string,
): Promise<{ rows: TableRow[]; provenance: string }> {
  const examples = readExamples(dir);
  await initBackend();
  const link = (file: string) => `[${file}](${dir}/${file})`;
  const rows: TableRow[] = [
    ...examples.functions.map((f) => ({
      example: `\`${f.function}\` in ${link(f.file)}`,
      language: "",
      what: f.what,
      said: [] as (FileExplanation | DiffExplanation)[],
    })),
    ...examples.diffs.map((d) => ({
      example: `${link(d.file)}`,
      language: "",
      what: d.what,
      said: [] as (FileExplanation | DiffExplanation)[],
    })),
  ];
  const lines: string[] = [];
  for (const d of DECODINGS) {
    const narrator = await Narrator.open({
      model: MODEL,
      adapter: ADAPTER,
      maxNewTokens: MAX_NEW_TOKENS,
      ...d.options,
    });
    try {
      const said = [
        ...examples.functions.map((f) =>
          explainFile(narrator, `${path.join(dir, f.file)}:${f.function}`),
        ),
        ...examples.diffs.map((x) =>
          explainDiff(narrator, fs.readFileSync(path.join(dir, x.file), "utf8"), "python"),
        ),
      ];
      said.forEach((e, i) => {
        rows[i].said.push(e);
        rows[i].language = SOURCE_LANG_NAMES[e.language];
      });
      const p = narrator.provenance();
      if (lines.length === 0) {
        lines.push(
          `Written by ${p.model} with adapter ${p.adapter} (${p.prompt} prompt, at most ${MAX_NEW_TOKENS} new tokens). Decodings, by column:`,
        );
      }
      lines.push(`${p.decoding}${d === DECODINGS[DECODINGS.length - 1] ? "." : ";"}`);
    } finally {
      narrator.dispose();
    }
  }
  return { rows, provenance: lines.join(" ") };
}

/** Rewrite README.md's table, formatted as the repository's prettier settings format it. */
async function writeReadme(): Promise<number> {
  const { rows, provenance } = await narrationRows(EXAMPLES_DIR);
  const readme = replaceTable(fs.readFileSync("README.md", "utf8"), renderTable(rows, provenance));
  const options = (await prettier.resolveConfig("README.md")) ?? {};
  writeFileAtomic(
    "README.md",
    await prettier.format(readme, { ...options, filepath: "README.md" }),
  );
  return rows.length;
}

if (require.main === module) {
  writeReadme()
    .then((n) => console.log(`README.md: narration table of ${n} examples written`))
    .catch((e: Error) => {
      console.error(e.message);
      process.exitCode = 1;
    });
}
