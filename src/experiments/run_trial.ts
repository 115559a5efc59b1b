/**
 * One trial, run: train the adapter (resuming the trial's own checkpoint when an earlier attempt
 * was interrupted), then evaluate it (or the base model, for "base") on the trial's tasks and
 * split, with greedy generation scored and a few samples kept when the experiment asks for it. An
 * adapter is evaluated with the prompt format, commit input, quantization and length of its own
 * training run (src/train/adapter_run.ts), as `narrator eval --adapter` evaluates it.
 */
import * as path from "node:path";
import type { Task } from "../data/example";
import type { Lang } from "../data/langs";
import { adapterRunSettings } from "../train/adapter_run";
import type { TrainTask } from "../train/config";
import type { CeReport, GenerationReport } from "../train/evaluate";
import { evaluateModel } from "../train/evaluate";
import { loadTaskData } from "../train/task_data";
import { train, type TrainEvent } from "../train/trainer";
import { initBackend } from "../backend/backend";
import { setNativeThreads } from "../native/kernels";
import { heldOutDataDir, PROJECT_ROOT } from "./paths";
import type { EvalSpec, TrialSpec } from "./trials";

/** A generated example kept for reports. */
export interface SampleRecord {
  task: Task;
  language: Lang;
  id: string;
  /** The model input, cut to SAMPLE_INPUT_CHARS. */
  input: string;
  reference: string;
  generated: string;
}

/** What a finished trial measured (result.json, with the store's own fields). */
export interface TrialOutcome {
  wallTimeS: number;
  training: {
    steps: number;
    totalSteps: number;
    tokens: number;
    wallTimeS: number;
    trainExamples: number;
    /** Validation CE before the first step and at the end. */
    initial: CeReport | null;
    final: CeReport | null;
  } | null;
  evaluation: {
    split: "val" | "test";
    ce: CeReport;
    generation: Omit<GenerationReport, "samples"> | null;
    /** CE on the held-out dataset's test split (trials whose spec names one). */
    heldOut?: { dataset: string; split: "test"; ce: CeReport };
  };
  samples: SampleRecord[];
  /** Paths relative to the trial's directory. */
  outputs: { run: string | null; metrics: string | null; adapter: string | null };
  backend: string | null;
}

/** Where a trial runs and whom it tells. */
export interface TrialContext {
  /** The trial's directory in the store (the trainer writes under run/). */
  dir: string;
  /** Data directory (absolute). */
  dataDir: string;
  /** One line of the trial's log. */
  log(line: string): void;
  /** Called after each optimizer step; may throw to stop the trial (its checkpoint stays). */
  onStep?(step: number, totalSteps: number): void;
}

/** Longest model input kept in a sample. */
export const SAMPLE_INPUT_CHARS = 600;

/** The evaluation task covering `tasks` (both tasks: the cocktail's evaluation sets, which stay per task). */
function evalTask(tasks: readonly Task[]): TrainTask {
  return tasks.length > 1 ? "cocktail" : tasks[0];
}

function describe(e: TrainEvent): string | null {
  switch (e.type) {
    case "info":
      return e.message;
    case "start":
      return `start: ${e.totalSteps} steps from step ${e.startStep}`;
    case "checkpoint":
      return `checkpoint at step ${e.step}`;
    case "step":
      return `step ${e.step} loss ${e.loss} lr ${e.lr}`;
    case "eval":
      return `eval at step ${e.step}: CE ${e.overall.ce}`;
  }
}

/**
 * Prepare a worker process: start the backend and cap the native kernels' threads (the wasm backend
 * itself uses one core), so that N workers share the cores instead of oversubscribing them.
 */
export async function setup(threads: number): Promise<void> {
  await initBackend();
  try {
    setNativeThreads(threads);
  } catch {
    // No native kernels: plain wasm, one thread.
  }
}

/** Run a trial (see the module comment); throws when training diverges or anything fails. */
export async function runTrial(spec: TrialSpec, ctx: TrialContext): Promise<TrialOutcome> {
  const started = Date.now();
  const runDir = path.join(ctx.dir, "run");
  const modelDir = path.resolve(PROJECT_ROOT, spec.modelDir);
  let training: TrialOutcome["training"] = null;
  let adapter: string | undefined;
  let backend: string | null = null;
  let totalSteps = 0;
  if (spec.train) {
    const r = await train(
      { ...spec.train, model: modelDir, out: runDir, data: ctx.dataDir },
      {
        resume: true,
        onEvent: (e) => {
          const line = describe(e);
          if (line !== null) ctx.log(line);
          if (e.type === "start") totalSteps = e.totalSteps;
          if (e.type === "step") ctx.onStep?.(e.step, totalSteps);
        },
      },
    );
    if (r.status !== "completed")
      throw new Error(`training ${r.status} after ${r.steps} of ${r.totalSteps} steps`);
    const { steps, tokens, wallTimeS, trainExamples, initial, final } = r;
    training = {
      steps,
      totalSteps: r.totalSteps,
      tokens,
      wallTimeS,
      trainExamples,
      initial,
      final,
    };
    adapter = r.outputs.adapter;
    backend = r.provenance.backend;
  }

  // Always a pass of its own, even where the trainer's final validation covers the same examples:
  // it keeps each example's CE terms, which paired bootstrap intervals in reports resample.
  let samples: SampleRecord[] = [];
  const ev = spec.evaluate;
  ctx.log(
    `evaluating on ${ev.tasks.join(" and ")} (${ev.split})${ev.generate ? " with generation" : ""}`,
  );
  // An adapter is read as it was trained (its run record, as `eval --adapter` reads it); a spec
  // that says otherwise is logged, naming both.
  const given = {
    prompt: ev.prompt,
    commitInput: ev.commitInput,
    quant: ev.quant,
    maxLen: ev.maxLen,
  };
  const fromRun = adapter
    ? adapterRunSettings(adapter, given, {
        kind: "keep-run",
        warn: (m) => ctx.log(`warning: ${m}`),
      })
    : null;
  const inputs = fromRun ?? given;
  const options = {
    model: modelDir,
    adapter,
    quant: inputs.quant,
    task: evalTask(ev.tasks),
    languages: ev.languages,
    size: ev.size,
    dataSeed: ev.dataSeed,
    mix: 0.5,
    commitInput: inputs.commitInput,
    lenient: ev.lenient,
    prompt: inputs.prompt,
    maxLen: inputs.maxLen,
    batchSize: ev.batchSize,
    perExample: true,
  };
  const e = await evaluateModel({
    ...options,
    data: ctx.dataDir,
    split: ev.split,
    generate: ev.generate,
    maxNewTokens: ev.maxNewTokens ?? 1,
  });
  backend = e.backend;
  let generation: TrialOutcome["evaluation"]["generation"] = null;
  if (e.generation) {
    const { samples: generated, ...scores } = e.generation;
    generation = scores;
    samples = await keepSamples(generated, ev, ctx.dataDir);
  }
  const evaluation: TrialOutcome["evaluation"] = { split: ev.split, ce: e.ce, generation };
  if (ev.heldOut !== undefined) {
    ctx.log(`evaluating on the held-out dataset ${ev.heldOut} (test)`);
    const h = await evaluateModel({
      ...options,
      data: heldOutDataDir(ev.heldOut),
      split: "test",
      generate: false,
      maxNewTokens: 1,
    });
    evaluation.heldOut = { dataset: ev.heldOut, split: "test", ce: h.ce };
  }
  return {
    wallTimeS: (Date.now() - started) / 1000,
    training,
    evaluation,
    samples,
    outputs: {
      run: spec.train ? "run" : null,
      metrics: spec.train ? path.join("run", "metrics.jsonl") : null,
      adapter: adapter ? path.relative(ctx.dir, adapter) : null,
    },
    backend,
  };
}

/** The first `ev.samples` generations of each task and language, with their inputs (read again by id). */
async function keepSamples(
  generated: GenerationReport["samples"],
  ev: EvalSpec,
  dataDir: string,
): Promise<SampleRecord[]> {
  const counts = new Map<string, number>();
  const kept = generated.filter((s) => {
    const k = `${s.task}/${s.language}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    return counts.get(k)! <= ev.samples;
  });
  if (kept.length === 0) return [];
  const sizes = ev.split === "val" ? ([0, ev.size, 0] as const) : ([0, 0, ev.size] as const);
  const data = await loadTaskData({
    ...ev,
    data: dataDir,
    task: evalTask(ev.tasks),
    sizes,
    mix: 0.5,
  });
  const inputs = new Map(data[ev.split].map((x) => [x.id, x.input]));
  return kept.map((s) => ({
    task: s.task,
    language: s.language,
    id: s.id,
    input: (inputs.get(s.id) ?? "").slice(0, SAMPLE_INPUT_CHARS),
    reference: s.reference,
    generated: s.hypothesis,
  }));
}
