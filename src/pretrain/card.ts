/**
 * The model card (README.md) of a shipped pretrained model: what it is, what it was trained on, how
 * far, how well it does on held-out code, and the commands that reproduce it.
 */
import * as path from "node:path";
import { TASK_NAMES, TASKS } from "../data/example";
import { LANG_NAMES, LANGS, type Lang } from "../data/langs";
import type { LlamaConfig } from "../model/config";
import { dims } from "../model/config";
import { formatDuration } from "../train/progress";
import { runName } from "../util/root";
import { stageChain, type StageSummary } from "./init_from";
import type { ValReport } from "./validate";
import { ZERO_SHOT, type ZeroShotReport } from "./zero_shot";

/** Everything the card states. */
export interface ModelCardInfo {
  /** "pretrained", or "random-floor" for the untrained model of the same shape and seed. */
  kind: "pretrained" | "random-floor";
  /** Preset name or config file the shape came from. */
  model: string;
  config: LlamaConfig;
  parameters: number;
  corpus: {
    dir: string;
    manifestHash: string;
    trainTokens: number;
    valTokens: number;
    /** Tokens per language in each split. */
    languages: { lang: Lang; train: number; val: number }[];
  };
  tokenizer: { file: string; sha256: string; vocabSize: number };
  training: {
    status: string;
    steps: number;
    totalSteps: number;
    warmupSteps: number;
    seqLen: number;
    batchSize: number;
    lr: number;
    scheduler: string;
    weightDecay: number;
    maxGradNorm: number;
    betas: [number, number];
    seed: number;
    tokensSeen: number;
  };
  /** Training loss at the last step and its mean over the last `over` steps. */
  trainLoss: { last: number; mean: number; over: number } | null;
  /** Validation CE of the shipped (BF16) weights. */
  valCe: ValReport | null;
  /** Zero-shot CE of the shipped weights on the narration tasks (null: no data given). */
  zeroShot: ZeroShotReport | null;
  /** This stage's wall time, seconds. */
  wallTimeS: number;
  /** The stage a continued run started after, with its own earlier stages (absent: trained from random weights). */
  continuedFrom?: StageSummary;
  /** The shipped model folder a continued run started from (absent: a run's checkpoint). */
  continuedFromModel?: string;
  backend: string;
  git: { commit: string | null; dirty: boolean | null };
  /** Shell commands, run from the repository root. */
  commands: { background?: string; ship?: string; floor?: string };
}

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
const int = (n: number) => n.toLocaleString("en-US");

/** README.md of a shipped model. */
export function modelCard(i: ModelCardInfo): string {
  const c = i.config;
  const { d, nHeads, nKv, headDim, ffn, vocab, nLayers } = dims(c);
  const t = i.training;
  const floor = i.kind === "random-floor";
  // A continued run's earlier stages, first first; totals are over all stages.
  const earlier = i.continuedFrom ? stageChain(i.continuedFrom) : [];
  const stage = earlier.length + 1;
  const before = earlier.length === 1 ? "stage 1" : `stages 1-${earlier.length}`;
  const overAll = stage === 2 ? "both stages" : `${stage} stages`;
  const sum = (f: (s: StageSummary) => number) => earlier.reduce((a, s) => a + f(s), 0);
  const tokensSeen = t.tokensSeen + sum((s) => s.tokens);
  const wallTimeS = i.wallTimeS + sum((s) => s.wallTimeS);
  const epochs = i.corpus.trainTokens > 0 ? (tokensSeen / i.corpus.trainTokens).toFixed(2) : "?";
  const lines = [
    "---",
    "library_name: transformers",
    "pipeline_tag: text-generation",
    "tags: [llama, code, pretraining, code-narrator]",
    "---",
    "",
    `# code-narrator ${path.basename(i.model, ".json")}${floor ? " (random initialisation)" : ""}`,
    "",
    floor
      ? `The untrained floor: a Llama-format model of the same shape and seed as the pretrained ${i.model}, ` +
        "with its initial weights (N(0, initializer_range) matrices, unit norms) and zero training steps. " +
        "Every gain of a trained model is measured against it."
      : `A small Llama-format decoder pretrained from scratch (every parameter, embeddings included) on the ` +
        "code-narrator source-code corpus with next-token prediction, as the base for the project's narration fine-tuning.",
    ...(earlier.length > 0
      ? [
          "",
          `Stage ${stage} of a continued run: it started from ` +
            (i.continuedFromModel === undefined
              ? `the float32 weights and AdamW moments of the last checkpoint of ${runName(earlier[earlier.length - 1].run)}`
              : `the bfloat16 weights of ${i.continuedFromModel} (AdamW moments from zero)`) +
            " and followed its own schedule. Earlier stages:",
          "",
          "| stage | run | steps | tokens | held-out CE at its end | wall time |",
          "|---|---|---|---|---|---|",
          ...earlier.map(
            (s, k) =>
              `| ${k + 1} | ${runName(s.run)} | ${int(s.steps)} | ${int(s.tokens)} | ` +
              `${s.valCe === null ? "not measured" : f4(s.valCe)} | ${formatDuration(s.wallTimeS)} |`,
          ),
          "",
        ]
      : [""]),
    "## Architecture",
    "",
    `Shape: ${i.model}.`,
    "",
    `| | |`,
    `|---|---|`,
    `| parameters | ${int(i.parameters)} |`,
    `| layers | ${nLayers} |`,
    `| hidden size | ${d} |`,
    `| attention heads / key-value heads / head dim | ${nHeads} / ${nKv} / ${headDim} |`,
    `| MLP (SwiGLU) width | ${ffn} |`,
    `| vocabulary | ${int(vocab)} |`,
    `| tied embeddings | ${c.tie_word_embeddings} |`,
    `| RoPE theta / max positions | ${c.rope_theta} / ${c.max_position_embeddings} |`,
    `| weights | model.safetensors, bfloat16, Hugging Face Llama tensor names |`,
    "",
    "## Data",
    "",
    `Corpus ${i.corpus.dir}, MANIFEST.json content hash \`${i.corpus.manifestHash}\`: ` +
      `${int(i.corpus.trainTokens)} train tokens, ${int(i.corpus.valTokens)} held-out tokens ` +
      "(each file's tokens followed by <|eos|>; windows of all languages shuffled together).",
    "",
    "| language | train tokens | held-out tokens |",
    "|---|---|---|",
    ...i.corpus.languages.map((l) => `| ${LANG_NAMES[l.lang]} | ${int(l.train)} | ${int(l.val)} |`),
    "",
    `Tokenizer: ${i.tokenizer.file} (byte-level BPE, ${int(i.tokenizer.vocabSize)} ids, sha256 \`${i.tokenizer.sha256}\`), copied here as tokenizer.json.`,
    "",
    "## Training",
    "",
    `| | |`,
    `|---|---|`,
    `| status | ${t.status} |`,
    earlier.length > 0
      ? `| optimizer steps | ${int(t.steps)} of ${int(t.totalSteps)} in this stage, after ${int(sum((s) => s.steps))} in ${before} |`
      : `| optimizer steps | ${int(t.steps)} of ${int(t.totalSteps)} |`,
    `| tokens seen | ${int(tokensSeen)} (${epochs} epochs)${earlier.length > 0 ? ` over ${overAll}: ${int(sum((s) => s.tokens))} in ${before}, ${int(t.tokensSeen)} in this one` : ""} |`,
    `| batch | ${t.batchSize} windows x ${t.seqLen} tokens |`,
    `| optimizer | AdamW, betas ${t.betas.join("/")}, weight decay ${t.weightDecay} (matrices only), gradient clip ${t.maxGradNorm} |`,
    `| learning rate | ${t.lr}, ${t.warmupSteps} warmup steps, ${t.scheduler} decay |`,
    `| seed | ${t.seed} |`,
    `| wall time | ${formatDuration(wallTimeS)} (${wallTimeS.toFixed(0)} s)${earlier.length > 0 ? ` over ${overAll}: ${sum((s) => s.wallTimeS).toFixed(0)} s in ${before}, ${i.wallTimeS.toFixed(0)} s in this one` : ""} |`,
    `| backend | ${i.backend} |`,
    `| code | ${i.git.commit ?? "unknown commit"}${i.git.dirty ? " with uncommitted changes" : ""} |`,
    "",
    "## Results",
    "",
    i.trainLoss
      ? `Training loss: ${f4(i.trainLoss.last)} at the last step, ${f4(i.trainLoss.mean)} averaged over the last ${i.trainLoss.over} steps.`
      : "Training loss: none (no training steps).",
    "",
    ...valLines(i.valCe),
    "",
    ...zeroShotLines(i.zeroShot),
    "",
    "## Reproduce",
    "",
    "From the repository root, with the corpus and tokenizer above:",
    "",
    "```sh",
    ...earlier.flatMap((s, k) => [
      `# stage ${k + 1}, run to its end first (the same command continues it)`,
      s.command,
    ]),
    ...(i.commands.background
      ? [
          `# ${earlier.length > 0 ? `stage ${stage}: ` : ""}pretrain in the background; the same command continues from the last checkpoint`,
          i.commands.background,
        ]
      : []),
    ...(i.commands.ship
      ? [
          "# write this model folder from the run's latest checkpoint (also while it trains)",
          i.commands.ship,
        ]
      : []),
    ...(i.commands.floor ? ["# write the random-initialisation floor", i.commands.floor] : []),
    "```",
    "",
  ];
  return lines.join("\n");
}

function valLines(v: ValReport | null): string[] {
  if (!v) return ["Held-out validation CE: not measured (the corpus has no held-out windows)."];
  return [
    `Held-out validation cross-entropy of these bfloat16 weights: **${f4(v.ce)} nats/token** ` +
      `(perplexity ${v.ppl.toFixed(2)}) on a fixed sample of ${v.windows} windows (${int(v.tokens)} predicted tokens).`,
    "",
    "| language | CE (nats/token) | windows |",
    "|---|---|---|",
    ...Object.entries(v.byLanguage).map(
      ([lang, s]) => `| ${LANG_NAMES[lang as Lang]} | ${f4(s.ce)} | ${s.windows} |`,
    ),
  ];
}

function zeroShotLines(z: ZeroShotReport | null): string[] {
  const head = "### Zero-shot on the narration tasks";
  if (!z) {
    return [
      head,
      "",
      "Not measured: ship with `--data DIR` (the folder holding codesearchnet/ and commitpackft/).",
    ];
  }
  const s = ZERO_SHOT;
  const cell = (c: { ce: number; examples: number } | undefined) =>
    c ? `${f4(c.ce)} (${c.examples})` : "none";
  return [
    head,
    "",
    `Cross-entropy of these bfloat16 weights on the targets (summaries, commit messages) of the ` +
      `${s.split}idation splits, before any fine-tuning: ${s.size} examples per language drawn with data seed ` +
      `${s.dataSeed}, ${s.prompt} prompt, at most ${s.maxLen} tokens, commits as ${s.commitInput}s ` +
      `(nats/token; examples in brackets).`,
    "",
    `| language | ${TASKS.map((t) => TASK_NAMES[t]).join(" | ")} |`,
    `|---|${TASKS.map(() => "---").join("|")}|`,
    ...LANGS.filter((l) => TASKS.some((t) => z[t].byLanguage[l])).map(
      (l) => `| ${LANG_NAMES[l]} | ${TASKS.map((t) => cell(z[t].byLanguage[l])).join(" | ")} |`,
    ),
    `| **all** | ${TASKS.map((t) => `**${cell(z[t].ce)}**`).join(" | ")} |`,
    "",
    `Data hashes: ${TASKS.map((t) => `${TASK_NAMES[t]} \`${z[t].dataHash}\``).join(", ")}.`,
  ];
}
