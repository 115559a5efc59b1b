/** `narrator explain | digest`: explain code, diffs and commits in plain English. */
import { COMMIT_INPUTS, type CommitInput } from "../data/commitpackft";
import { parseLanguage, SOURCE_LANGS, type SourceLang } from "../source/languages";
import { PROMPT_FORMATS, type PromptFormat } from "../data/prompts";
import { explainCommits, explainDiff, explainFile, type Explanation } from "../narrate/explain";
import { readCommits } from "../narrate/git";
import { EXPLAIN_FORMATS, renderExplanation, type ExplainFormat } from "../narrate/format";
import { Narrator } from "../narrate/narrator";
import { digestPage } from "../narrate/page";
import type { SettingsOverrides } from "../narrate/settings";
import { writeFileAtomic } from "../util/fs";
import { numberOpt, required, UsageError, type Command, type Values } from "./args";
import { DECODING_HELP, DECODING_OPTIONS, decodingOptions } from "./decoding_options";

const NARRATOR_OPTIONS = {
  model: { type: "string" },
  adapter: { type: "string" },
  "max-new-tokens": { type: "string" },
  "max-input-tokens": { type: "string" },
  "no-repeat-ngram": { type: "string" },
  "max-files": { type: "string" },
  ...DECODING_OPTIONS,
  lang: { type: "string" },
  prompt: { type: "string" },
  "commit-input": { type: "string" },
  quant: { type: "string" },
} as const;

const NARRATOR_HELP = `Model:
  --model DIR               base model directory (config.json, model.safetensors, tokenizer.json)
  --adapter DIR             LoRA adapter; when it is OUT/adapter of \`narrator train\`, OUT/result.json
                            gives the prompt format, commit input, quantization and length it was
                            trained with
  --max-new-tokens N        tokens generated per explanation (default 64)
${DECODING_HELP}
  --no-repeat-ngram N       never repeat an N-token sequence within an explanation (in each beam;
                            default 3; 0 turns it off): small models decoding greedily fall into loops
  --max-input-tokens N      input tokens kept; default: what fits the adapter's training length
                            (or the model's context) with the prompt frame and the new tokens.
                            A longer input is cut, and a note says so in every format
  --max-files N             a change of several files longer than that is narrated file by file
                            (at most N files alone, the most changed first; default 8), then as a
                            whole with each file cut to its share; notes say what was left out
  --lang LANG               language named in the prompt when no file of a change is in one of
                            ${SOURCE_LANGS.join(", ")} (default javascript; a note says so)
  --prompt deepseek|compact, --commit-input diff|files|both, --quant none|nf4
                            without an adapter's run: the training defaults apply (deepseek, diff;
                            a bare base model in float); with one they must agree with it`;

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) {
    throw new UsageError(`--${name} expects one of ${allowed.join(", ")}, got '${String(v)}'`);
  }
  return v as T;
}

async function openNarrator(v: Values, usage: string): Promise<Narrator> {
  const overrides: SettingsOverrides = {
    prompt: oneOf<PromptFormat>(v.prompt, "prompt", PROMPT_FORMATS),
    commitInput: oneOf<CommitInput>(v["commit-input"], "commit-input", COMMIT_INPUTS),
    quant: oneOf(v.quant, "quant", ["none", "nf4"] as const),
  };
  return Narrator.open({
    model: required(v, "model", usage),
    adapter: v.adapter as string | undefined,
    maxNewTokens: numberOpt(v, "max-new-tokens", 64, { integer: true, min: 1 }),
    maxInputTokens:
      v["max-input-tokens"] === undefined
        ? undefined
        : numberOpt(v, "max-input-tokens", 0, { integer: true, min: 0 }),
    noRepeatNgramSize: numberOpt(v, "no-repeat-ngram", 3, { integer: true, min: 0 }),
    maxFiles: numberOpt(v, "max-files", 8, { integer: true, min: 0 }),
    ...decodingOptions(v),
    overrides,
  });
}

function fallbackLang(v: Values): SourceLang {
  return v.lang === undefined ? "javascript" : parseLanguage(String(v.lang), SOURCE_LANGS);
}

/** Progress on stderr when it is a terminal. */
function progress(done: number, total: number, sha: string, subject: string): void {
  if (process.stderr.isTTY) {
    process.stderr.write(`narrator: explained ${done}/${total} ${sha.slice(0, 7)} ${subject}\n`);
  }
}

/**
 * The whole of stdin, read as a stream: touching process.stdin makes a pipe non-blocking, so a
 * synchronous read of fd 0 fails with EAGAIN whenever the writer is slower than the reader.
 */
async function readStdin(usage: string): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError(
      `--diff reads a unified diff from stdin, e.g. git diff | narrator explain --diff ...\n\n${usage}`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export const explain: Command = {
  summary: "explain a function, a file, a diff or each commit of a git range in plain English",
  usage: `usage: narrator explain --model DIR [--adapter DIR]
         (--file PATH[:function] | --diff | --git REPO --range A..B)
         [--format text|markdown|json] [--max-new-tokens N] [--max-input-tokens N] [--lang LANG]
         [--beams N [--length-penalty X]] [--min-new-tokens N] [--no-repeat-ngram N] [--max-files N]

What to explain (one of):
  --file PATH[:function]    a file (language from its extension), or one function or method of
                            it: name, Class.name, Receiver.Name (Go), or name@LINE among several
  --diff                    a unified diff on stdin (git diff, diff -u), explained as a commit
  --git REPO --range A..B   each commit of git's A..B (oldest first), then a short digest of the
                            range counted from git's data (not generated)

Output:
  --format text|markdown|json  (default text). JSON for --git:
      {"commits": [{"sha", "subject", "explanation", "author", "email", "date", "language",
                    "files": [{"path", "insertions", "deletions"}], "insertions", "deletions",
                    "notes", "inputTokens", "keptInputTokens", "fileNarrations"}], "digest",
       "provenance"}
    for --file: {"kind": "file", "file", "function", "qualifiedName", "language", "startLine",
                 "endLine", "explanation", "notes", "inputTokens", "keptInputTokens", "provenance"}
    for --diff: {"kind": "diff", "files", "language", "explanation", "notes", "inputTokens",
                 "keptInputTokens", "fileNarrations", "provenance"}
    provenance: {"model", "adapter", "prompt", "decoding"}, what wrote the text
    fileNarrations: [{"path", "explanation", "notes", "inputTokens", "keptInputTokens"}], the
    files of a change too long for the window narrated alone (empty otherwise)

${NARRATOR_HELP}`,
  options: {
    ...NARRATOR_OPTIONS,
    file: { type: "string" },
    diff: { type: "boolean" },
    git: { type: "string" },
    range: { type: "string" },
    format: { type: "string" },
  },
  async run(v) {
    const usage = explain.usage;
    const sources = [v.file !== undefined, v.diff === true, v.git !== undefined].filter(Boolean);
    if (sources.length !== 1) {
      throw new UsageError(`give exactly one of --file, --diff or --git\n\n${usage}`);
    }
    if ((v.git !== undefined) !== (v.range !== undefined)) {
      throw new UsageError(`--git and --range go together\n\n${usage}`);
    }
    const format: ExplainFormat = oneOf(v.format, "format", EXPLAIN_FORMATS) ?? "text";
    required(v, "model", usage);
    const lang = fallbackLang(v);
    const stdin = v.diff ? await readStdin(usage) : "";
    // A bad range fails before the model is read.
    const commits = v.git !== undefined ? readCommits(v.git as string, v.range as string) : [];
    const narrator = await openNarrator(v, usage);
    try {
      let result: Explanation;
      if (v.file !== undefined) {
        result = explainFile(narrator, v.file as string, v.lang === undefined ? undefined : lang);
      } else if (v.diff) {
        result = explainDiff(narrator, stdin, lang);
      } else {
        result = explainCommits(narrator, v.git as string, commits, lang, (d, t, c) =>
          progress(d, t, c.sha, c.subject),
        );
      }
      process.stdout.write(renderExplanation(result, format, narrator.provenance()) + "\n");
    } finally {
      narrator.dispose();
    }
  },
};

export const digest: Command = {
  summary: "write a self-contained HTML page explaining each commit of a git range for a manager",
  usage: `usage: narrator digest --model DIR [--adapter DIR] --git REPO --range A..B --out FILE.html
         [--max-new-tokens N] [--max-input-tokens N] [--lang LANG] [--beams N [--length-penalty X]] [--min-new-tokens N]

Writes one HTML file (atomically) with the range's digest, its activity as a chart (commits and
lines changed per day) and per commit the narration, author, date, size of the change and the
files touched. The page loads nothing from elsewhere; the same range and model give the same bytes.

${NARRATOR_HELP}`,
  options: {
    ...NARRATOR_OPTIONS,
    git: { type: "string" },
    range: { type: "string" },
    out: { type: "string" },
  },
  async run(v) {
    const usage = digest.usage;
    const repo = required(v, "git", usage);
    const range = required(v, "range", usage);
    const out = required(v, "out", usage);
    required(v, "model", usage);
    const lang = fallbackLang(v);
    const commits = readCommits(repo, range);
    const narrator = await openNarrator(v, usage);
    try {
      const result = explainCommits(narrator, repo, commits, lang, (d, t, c) =>
        progress(d, t, c.sha, c.subject),
      );
      const html = await digestPage(result, {
        ...narrator.provenance(),
        repo,
        range,
        settings: narrator.settings.source,
      });
      writeFileAtomic(out, html);
      process.stdout.write(`wrote ${out} (${result.commits.length} commits)\n`);
    } finally {
      narrator.dispose();
    }
  },
};
