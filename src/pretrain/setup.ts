/**
 * What every pretraining action (train, ship a checkpoint, write the random floor) needs before it
 * touches weights: the tokenizer, the model shape with the tokenizer's vocabulary, the encoded
 * corpus, the fixed validation sample and the key a checkpoint must match.
 */
import type { LlamaConfig } from "../model/config";
import { parameterCount } from "../model/config";
import { Tokenizer } from "../tokenizer/tokenizer";
import {
  pretrainResumeKey,
  resolveModelConfig,
  warmupStepsOf,
  type PretrainConfig,
} from "./config";
import { initSource, type InitSource } from "./init_from";
import { corpusTokens, type CorpusTokens } from "./stream";
import { evenlySpaced, windowCount } from "./windows";
import { checkoutState, type CheckoutState } from "../util/git";

/** A run's settings resolved against its tokenizer and corpus. */
export interface RunSetup {
  config: PretrainConfig;
  tokenizer: Tokenizer;
  modelConfig: LlamaConfig;
  parameters: number;
  data: CorpusTokens;
  /** The validation windows every evaluation uses. */
  valSample: number[];
  warmupSteps: number;
  /** The checkpoint a continued run starts from (null: random initialisation). */
  init: InitSource | null;
  resumeKey: string;
  /** The checkout as the run began (its provenance; edits during a long run are not its code). */
  checkout: CheckoutState;
}

/**
 * Load the tokenizer, resolve the model shape, encode (or read the cached) corpus and identify the
 * checkpoint a continued run starts from.
 */
export function prepareRun(config: PretrainConfig, log: (line: string) => void): RunSetup {
  const checkout = checkoutState();
  const tokenizer = Tokenizer.fromFile(config.tokenizer);
  const modelConfig = resolveModelConfig(config.model, tokenizer, config.tokenizer);
  if (config.seqLen > modelConfig.max_position_embeddings) {
    throw new Error(
      `seqLen ${config.seqLen} exceeds the model's max_position_embeddings (${modelConfig.max_position_embeddings})`,
    );
  }
  const data = corpusTokens(config.corpus, config.tokenizer, tokenizer, { log });
  if (data.fromCache) log(`token streams read from ${data.cacheDir}`);
  const valWindows = windowCount(data.val.tokens.length, config.seqLen);
  const init = config.initFrom ? initSource(config.initFrom, config.out, modelConfig) : null;
  return {
    config,
    tokenizer,
    modelConfig,
    parameters: parameterCount(modelConfig),
    data,
    valSample: evenlySpaced(valWindows, config.evalWindows),
    warmupSteps: warmupStepsOf(config),
    init,
    resumeKey: pretrainResumeKey(config, modelConfig, data.key, init?.sha256),
    checkout,
  };
}
