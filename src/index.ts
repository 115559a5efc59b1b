/**
 * code-narrator's public API: what notebooks, reports and other programs use.
 * Everything here is typed and documented at its source; this module only gathers it.
 *
 *   const nar = require("../src");            // or: import * as nar from "../src"
 *   await nar.initBackend();                  // wasm by default; NARRATOR_BACKEND forces one
 *   const data = await nar.prepareDatasets({ dataDir: nar.resolveDataDir() });
 *   const model = nar.openModel("models/narrator-8m", { quant: "nf4" });
 *   const result = await nar.train(config);   // a QLoRA run: metrics, adapter, result.json
 */

// Backends
export { initBackend, backendInfo, availableBackends, type BackendInfo } from "./backend/backend";

// Model core: config, checkpoints, NF4, LoRA, inference
export {
  parseLlamaConfig,
  readLlamaConfig,
  parameterCount,
  type LlamaConfig,
} from "./model/config";
export { presetConfig, PRESET_NAMES } from "./model/presets";
export {
  loadModel,
  saveModel,
  initTensors,
  modelFromTensors,
  type LoadOptions,
} from "./model/checkpoint";
export { tokenizerFor } from "./model/open";
export { openModel } from "./lora/open";
export { Llama } from "./model/llama";
export { sequenceLogprobs, generate, type GenerateOptions } from "./model/inference";
export { quantizeModelDir } from "./model/quantize_dir";
export { baseMemory, formatMemory, type MemoryReport } from "./model/memory";
export { injectLora, loadAdapter, saveAdapter, mergeAndUnload, type LoraModel } from "./lora/model";
export { parseLoraConfig, type LoraConfig } from "./lora/config";

// Tokenizer
export { Tokenizer } from "./tokenizer/tokenizer";
export { trainByteLevelBpe } from "./tokenizer/train";

// Data
export { LANGS, type Lang } from "./data/langs";
export { TASKS, SPLITS, type Example, type Task, type Split } from "./data/example";
export { resolveDataDir } from "./data/sources";
export { prepareDatasets, type PrepareOptions, type PreparedDatasets } from "./data/prepare";
export { dataStats } from "./data/commands";
export { statsFrame, lengthsFrame, summarise, frameToCsv, frameToJson } from "./data/frame";
export { prepareCached, loadPreparedCache } from "./data/cache";
export { mixCocktail } from "./data/cocktail";

// Training and evaluation
export { train, type TrainResult, type TrainEvent } from "./train/trainer";
export { parseTrainConfig, type TrainConfig, type TrainConfigInput } from "./train/config";
export { evaluateModel, formatEvaluation } from "./train/evaluate";
export { createOptimizer } from "./train/optimizers";
export { lrAtStep, lrMultiplier } from "./train/schedulers";
export { smoothedBleu4, corpusSmoothedBleu4, rougeLCoco, corpusRougeLCoco } from "./eval/metrics";

// Narration: explain functions, diffs and commits; the digest page of a git range
export { Narrator, type NarratorOptions, type Narration } from "./narrate/narrator";
export {
  explainFile,
  explainDiff,
  explainCommits,
  explainRange,
  type Explanation,
  type FileExplanation,
  type DiffExplanation,
  type CommitExplanation,
  type RangeExplanation,
} from "./narrate/explain";
export { renderExplanation, type ExplainFormat } from "./narrate/format";
export { listFunctions, type SourceFunction } from "./source/functions";
export { findFunction } from "./source/find_function";
export { SOURCE_LANGS, type SourceLang } from "./source/languages";
export { readCommits, readFileChanges, type CommitRecord } from "./narrate/git";
export { rangeDigest, activityByDay } from "./narrate/digest";
export { buildPrompt, truncationNote, type NarrationRequest } from "./narrate/prompt";
export { narrationSettings, type NarrationSettings } from "./narrate/settings";
export { digestPage, activityFigure } from "./narrate/page";

// Experiments: definitions, profiles, sweeps against a run store, and results as long tables
export {
  loadDefinition,
  listExperiments,
  type ExperimentDefinition,
} from "./experiments/definition";
export { loadProfile, type Profile } from "./experiments/profile";
export { expandTrials, type TrialSpec, type Hyperparameters } from "./experiments/trials";
export { runSweep, type SweepOptions, type SweepReport } from "./experiments/sweep";
export { RunStore, defaultStoreDir } from "./experiments/store";
export {
  loadResults,
  resolveTransfer,
  buildRows,
  type ExperimentResults,
  type LoadOptions as ResultsLoadOptions,
} from "./experiments/results";
export { STUDY_HYPERPARAMETERS, type Transfer } from "./experiments/transfer";
export type {
  TrialRow,
  MetricRow,
  CurveRow,
  SampleRow,
  SettingValue,
  TrialStatus,
} from "./experiments/rows";

// Reports: Vega-Lite figures from result rows, static SVG/PNG, self-contained HTML pages, checks
export {
  buildReports,
  renderReport,
  writeReport,
  type BuildReportsOptions,
  type ReportFile,
} from "./report/build";
export { loadReportInput } from "./report/load";
export { checkReports, checkPageHtml } from "./report/check";
export { renderSvg, svgToPng, inlineSvg } from "./report/render";
export { baselinesFigure } from "./report/figures/baselines";
export { curvesFigure, sweepCeFigure, sweepLanguagesFigure } from "./report/figures/sweep";
export { cocktailFigure, cocktailLanguagesFigure } from "./report/figures/cocktail";
export { ratioFigure } from "./report/figures/ratio";
export { funnelFigure } from "./report/figures/funnel";
export { overviewFigure } from "./report/figures/overview";
export { settingOrder, type Figure } from "./report/figures/style";
export type { SweepView } from "./report/figures/sweep";
export { experimentInfo, settingsView, type ExperimentInfo } from "./report/catalog";
export type {
  ReportInput,
  ExperimentName,
  ExperimentResults as ReportExperimentResults,
} from "./report/inputs";

// Notebooks: figures and tables shown in a tslab notebook, an experiment's heading from its
// definition, its results for the notebook's profile (running its sweep when trials are
// missing), the data notebook's figures
export { showFigure, showTable, type NotebookFigure } from "./notebooks/display";
export { interactiveSpec } from "./notebooks/interactive";
export {
  showExperimentHeading,
  experimentResults,
  describeResults,
  sweepTableRows,
  ceByLanguage,
  table1Rows,
  type ExperimentResultsOptions,
} from "./notebooks/experiment";
export { lengthsFigure } from "./notebooks/data_figures";
export { countTokensRegex } from "./data/tokens";
export type { StatsRow } from "./data/stats";
