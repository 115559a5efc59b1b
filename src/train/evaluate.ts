/**
 * Evaluation of a model (+ adapter) on examples, split per task and per language:
 * - cross-entropy: mean NLL in nats over target tokens (token mean within each group, so a group's
 *   CE weighs its examples by their target lengths), and PPL = exp(CE); batched, no gradients;
 * - generation: decoding of each target from its prompt (greedy, or beam search), scored against the reference with
 *   the CodeXGLUE smoothed BLEU-4 and pycocoevalcap's ROUGE-L (the variants are named in the report).
 */
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend";
import {
  collate,
  encodeExamples,
  padIdOf,
  sequencePrefix,
  type EncodedExample,
  type PromptTokenizer,
  type TruncationStats,
} from "../data/batches";
import type { CommitInput } from "../data/commitpackft";
import { renderTable } from "../util/text_table";
import type { Example, Task } from "../data/example";
import type { Lang } from "../data/langs";
import { endToken, type PromptFormat } from "../data/prompts";
import { corpusRougeLCoco, corpusSmoothedBleu4, type NarrationPair } from "../eval/metrics";
import { describeDecoding, type GenerateOptions } from "../model/decoding";
import { generate } from "../model/inference";
import type { Llama } from "../model/llama";
import { tokenizerFor } from "../model/open";
import { openModel } from "../lora/open";
import type { SubsetSizes } from "../data/sampling";
import type { TrainTask } from "./config";
import { loadTaskData } from "./task_data";
import { tokenNll } from "./loss";
import type { TokenBatch } from "./step";

/** Cross-entropy of a group of examples. */
export interface CeStat {
  /** Mean NLL per target token, nats. */
  ce: number;
  /** exp(ce). */
  ppl: number;
  tokens: number;
  examples: number;
}

/** CE overall, per task, and per task and language. */
export interface CeReport {
  overall: CeStat;
  byTask: Partial<Record<Task, CeStat>>;
  byTaskLanguage: Partial<Record<Task, Partial<Record<Lang, CeStat>>>>;
  /** Each example's CE terms per task and language, when asked for (see evaluateCe). */
  perExample?: PerExampleCe;
}

/**
 * The CE terms of each example of one task and language, in the order the examples were given:
 * what paired bootstrap intervals resample (CE of a set = sum of nll / sum of tokens).
 */
export interface ExampleTerms {
  /** First 16 hex digits of the sha256 of the example ids in order: equal hashes, same examples. */
  idsHash: string;
  /** Summed NLL of each example's target tokens, nats. */
  nll: number[];
  /** Target tokens of each example. */
  tokens: number[];
}

/** Per-example CE terms by task and language. */
export type PerExampleCe = Partial<Record<Task, Partial<Record<Lang, ExampleTerms>>>>;

/** Group per-example terms (indexed like `examples`) by task and language, keeping input order. */
export function perExampleTerms(
  examples: readonly Pick<EncodedExample, "id" | "task" | "language">[],
  nll: ArrayLike<number>,
  tokens: ArrayLike<number>,
): PerExampleCe {
  const groups = new Map<string, { ids: string[]; nll: number[]; tokens: number[] }>();
  examples.forEach((e, i) => {
    const key = `${e.task}/${e.language}`;
    if (!groups.has(key)) groups.set(key, { ids: [], nll: [], tokens: [] });
    const g = groups.get(key)!;
    g.ids.push(e.id);
    g.nll.push(nll[i]);
    g.tokens.push(tokens[i]);
  });
  const out: PerExampleCe = {};
  for (const [key, g] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [task, lang] = key.split("/") as [Task, Lang];
    const idsHash = createHash("sha256").update(g.ids.join("\n")).digest("hex").slice(0, 16);
    (out[task] ??= {})[lang] = { idsHash, nll: g.nll, tokens: g.tokens };
  }
  return out;
}

/** Summed NLL and counted tokens of each row of a batch (forward only). */
export function rowNll(model: Llama, b: TokenBatch): { nll: number[]; tokens: number[] } {
  const [nll, count] = tf.tidy(() => {
    const ids = tf.tensor2d(b.ids, [b.batch, b.seqLen], "int32");
    const mask = b.attentionMask ? tf.tensor2d(b.attentionMask, [b.batch, b.seqLen]) : undefined;
    const { logits } = model.forward(ids, { attentionMask: mask });
    const out = tokenNll(logits, tf.tensor1d(b.labels, "int32"));
    return [
      tf.sum(tf.reshape(out.nll, [b.batch, b.seqLen]), 1),
      tf.sum(tf.reshape(out.mask, [b.batch, b.seqLen]), 1),
    ];
  });
  const result = {
    nll: Array.from(nll.dataSync() as Float32Array),
    tokens: Array.from(count.dataSync() as Float32Array),
  };
  nll.dispose();
  count.dispose();
  return result;
}

class Totals {
  nll = 0;
  tokens = 0;
  examples = 0;
  add(nll: number, tokens: number): void {
    this.nll += nll;
    this.tokens += tokens;
    this.examples++;
  }
  stat(): CeStat {
    const ce = this.tokens > 0 ? this.nll / this.tokens : NaN;
    return { ce, ppl: Math.exp(ce), tokens: this.tokens, examples: this.examples };
  }
}

/** Batches for evaluation: examples sorted by length (little padding), no randomness. */
function evalBatches(n: number, lengths: (i: number) => number, batchSize: number): number[][] {
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lengths(b) - lengths(a));
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

/**
 * Cross-entropy of a model on encoded examples, per task and language; with `perExample`, also
 * each example's terms (report.perExample).
 */
export function evaluateCe(
  model: Llama,
  examples: readonly EncodedExample[],
  opts: { batchSize: number; padId: number; perExample?: boolean },
): CeReport {
  const exampleNll = new Float64Array(examples.length);
  const exampleTokens = new Float64Array(examples.length);
  const overall = new Totals();
  const byTask = new Map<Task, Totals>();
  const byPair = new Map<string, Totals>();
  for (const idx of evalBatches(examples.length, (i) => examples[i].ids.length, opts.batchSize)) {
    const rows = idx.map((i) => examples[i]);
    const { nll, tokens } = rowNll(model, collate(rows, opts.padId));
    rows.forEach((r, k) => {
      exampleNll[idx[k]] = nll[k];
      exampleTokens[idx[k]] = tokens[k];
      overall.add(nll[k], tokens[k]);
      if (!byTask.has(r.task)) byTask.set(r.task, new Totals());
      byTask.get(r.task)!.add(nll[k], tokens[k]);
      const key = `${r.task}/${r.language}`;
      if (!byPair.has(key)) byPair.set(key, new Totals());
      byPair.get(key)!.add(nll[k], tokens[k]);
    });
  }
  const report: CeReport = { overall: overall.stat(), byTask: {}, byTaskLanguage: {} };
  for (const [task, t] of [...byTask].sort()) report.byTask[task] = t.stat();
  for (const [key, t] of [...byPair].sort()) {
    const [task, lang] = key.split("/") as [Task, Lang];
    (report.byTaskLanguage[task] ??= {})[lang] = t.stat();
  }
  if (opts.perExample) report.perExample = perExampleTerms(examples, exampleNll, exampleTokens);
  return report;
}

/** What generation needs from a tokenizer beyond encoding. */
export interface GenerationTokenizer extends PromptTokenizer {
  decode(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
}

/** Generation scores of a group of examples (both in [0, 100]). */
export interface GenerationStat {
  bleu4: number;
  rougeL: number;
  examples: number;
}

/** One generated narration. */
export interface GenerationSample {
  id: string;
  task: Task;
  language: Lang;
  reference: string;
  hypothesis: string;
}

/** Generation scores overall, per task, and per task and language, with the metric variants. */
export interface GenerationReport {
  metrics: { bleu4: string; rougeL: string; decoding: string };
  overall: GenerationStat;
  byTask: Partial<Record<Task, GenerationStat>>;
  byTaskLanguage: Partial<Record<Task, Partial<Record<Lang, GenerationStat>>>>;
  samples: GenerationSample[];
}

/** Names of the metric variants, as reports must state them. */
export const GENERATION_METRICS = {
  bleu4:
    "smoothed BLEU-4, CodeXGLUE code-to-text (mean of sentence scores, +1 smoothing for n>1, x100)",
  rougeL: "ROUGE-L F (pycocoevalcap, beta 1.2, x100)",
} as const;

function scorePairs(pairs: readonly NarrationPair[]): GenerationStat {
  return {
    bleu4: corpusSmoothedBleu4(pairs),
    rougeL: corpusRougeLCoco(pairs) * 100,
    examples: pairs.length,
  };
}

/**
 * Decode the target of each example from its prompt (encoded[i] must encode examples[i]), greedily
 * unless `decoding` says otherwise, and score the decoded text against the example's target.
 */
export function evaluateGeneration(
  model: Llama,
  tok: GenerationTokenizer,
  examples: readonly Example[],
  encoded: readonly EncodedExample[],
  opts: { format: PromptFormat; maxNewTokens: number; decoding?: GenerateOptions },
): GenerationReport {
  if (examples.length !== encoded.length) {
    throw new Error(
      `evaluateGeneration: ${examples.length} examples but ${encoded.length} encoded`,
    );
  }
  const stop = tok.tokenToId(endToken(opts.format));
  const decoding: GenerateOptions = {
    ...opts.decoding,
    maxNewTokens: opts.maxNewTokens,
    stopTokens: stop === null || stop === undefined ? [] : [stop],
  };
  const samples: GenerationSample[] = examples.map((ex, i) => {
    const e = encoded[i];
    if (e.id !== ex.id)
      throw new Error(`evaluateGeneration: row ${i} encodes ${e.id}, not ${ex.id}`);
    const prompt = Array.from(e.ids.subarray(0, e.promptLength));
    const out = generate(model, prompt, decoding);
    const hypothesis = tok.decode(out, { skipSpecial: true }).trim();
    return { id: ex.id, task: ex.task, language: ex.language, reference: ex.target, hypothesis };
  });
  const groups = new Map<string, NarrationPair[]>();
  const push = (key: string, s: GenerationSample) => {
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push({ reference: s.reference, hypothesis: s.hypothesis });
  };
  for (const s of samples) {
    push(s.task, s);
    push(`${s.task}/${s.language}`, s);
  }
  const report: GenerationReport = {
    metrics: {
      ...GENERATION_METRICS,
      decoding: `${describeDecoding(decoding)}, at most ${opts.maxNewTokens} new tokens, stop at ${endToken(opts.format)}`,
    },
    overall: scorePairs(samples),
    byTask: {},
    byTaskLanguage: {},
    samples,
  };
  for (const [key, pairs] of [...groups].sort()) {
    const [task, lang] = key.split("/") as [Task, Lang | undefined];
    if (lang === undefined) report.byTask[task] = scorePairs(pairs);
    else (report.byTaskLanguage[task] ??= {})[lang] = scorePairs(pairs);
  }
  return report;
}

/** What `evaluateModel` reads and how. */
export interface EvaluateModelOptions {
  model: string;
  adapter?: string;
  quant?: "none" | "nf4";
  data?: string;
  task: TrainTask;
  split: "val" | "test";
  languages: readonly Lang[];
  /** Examples per language of the split. */
  size: number;
  dataSeed: number;
  mix: number;
  commitInput: CommitInput;
  lenient: boolean;
  prompt: PromptFormat;
  maxLen: number;
  batchSize: number;
  /** Also decode each target (greedily unless `decoding` says otherwise) and score it. */
  generate: boolean;
  maxNewTokens: number;
  decoding?: GenerateOptions;
  /** Also keep each example's CE terms (ce.perExample). */
  perExample?: boolean;
}

/** Evaluation of a model directory (+ adapter) on a split: CE/PPL, and generation scores. */
export interface ModelEvaluation {
  model: string;
  adapter: string | null;
  split: "val" | "test";
  examples: number;
  truncation: TruncationStats;
  ce: CeReport;
  generation: GenerationReport | null;
  dataHash: string;
  backend: string;
}

/** Open a model (+ adapter), read a split of a task's data and evaluate it. */
export async function evaluateModel(opts: EvaluateModelOptions): Promise<ModelEvaluation> {
  const backend = await initBackend();
  const sizes: SubsetSizes = opts.split === "val" ? [0, opts.size, 0] : [0, 0, opts.size];
  const data = await loadTaskData({ ...opts, sizes });
  const examples = data[opts.split];
  if (examples.length === 0) throw new Error(`no ${opts.split} examples for ${opts.task}`);
  // Refused before loading when the largest pass cannot fit: a batch of inputs at the length
  // limit, or each beam of a prompt with every new token.
  const beams = opts.decoding?.beams ?? 1;
  const newTokens = opts.generate ? opts.maxNewTokens : 0;
  const model = openModel(opts.model, {
    adapter: opts.adapter,
    quant: opts.quant,
    plan: {
      batchSize: Math.max(opts.batchSize, beams),
      seqLen: opts.maxLen + newTokens,
      what: `evaluating batches of ${opts.batchSize} x ${opts.maxLen} tokens${opts.generate ? ` and decoding ${newTokens} new tokens with ${beams} beam(s)` : ""}`,
    },
  });
  const tok = tokenizerFor(opts.model);
  const encodeOpts = { format: opts.prompt, maxLen: opts.maxLen, start: sequencePrefix(tok) };
  const encoded = encodeExamples(tok, examples, encodeOpts);
  const ce = evaluateCe(model, encoded.examples, {
    batchSize: opts.batchSize,
    padId: padIdOf(tok, opts.prompt),
    perExample: opts.perExample,
  });
  const generation = opts.generate
    ? evaluateGeneration(model, tok, examples, encoded.examples, {
        format: opts.prompt,
        maxNewTokens: opts.maxNewTokens,
        decoding: opts.decoding,
      })
    : null;
  model.dispose();
  return {
    model: opts.model,
    adapter: opts.adapter ?? null,
    split: opts.split,
    examples: examples.length,
    truncation: encoded.stats,
    ce,
    generation,
    dataHash: data.dataHash,
    backend: backend.label,
  };
}

/**
 * A statistic with `digits` decimals, or "non-finite": a report read back from JSON holds null
 * where the value was NaN or infinite.
 */
export function fixed(x: number | null, digits: number): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "non-finite";
}

/** CE/PPL (and generation scores) per task and language as a text table. */
export function formatEvaluation(ce: CeReport, gen: GenerationReport | null = null): string {
  const header = ["task", "language", "examples", "tokens", "CE", "PPL"];
  if (gen) header.push("BLEU-4", "ROUGE-L");
  const rows: string[][] = [];
  const row = (task: string, lang: string, s: CeStat, g?: GenerationStat) => {
    const cells = [
      task,
      lang,
      String(s.examples),
      String(s.tokens),
      fixed(s.ce, 4),
      fixed(s.ppl, 3),
    ];
    if (gen) cells.push(g ? g.bleu4.toFixed(2) : "", g ? g.rougeL.toFixed(2) : "");
    rows.push(cells);
  };
  for (const [task, byLang] of Object.entries(ce.byTaskLanguage) as [
    Task,
    Partial<Record<Lang, CeStat>>,
  ][]) {
    for (const [lang, s] of Object.entries(byLang) as [Lang, CeStat][]) {
      row(task, lang, s, gen?.byTaskLanguage[task]?.[lang]);
    }
    row(task, "all", ce.byTask[task]!, gen?.byTask[task]);
  }
  row("all", "all", ce.overall, gen?.overall);
  const lines = [renderTable(header, rows)];
  if (gen)
    lines.push(
      `BLEU-4: ${gen.metrics.bleu4}`,
      `ROUGE-L: ${gen.metrics.rougeL}`,
      `decoding: ${gen.metrics.decoding}`,
    );
  return lines.join("\n");
}
