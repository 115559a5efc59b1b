/**
 * A narrator: a base model (+ adapter) that explains one request at a time, decoding as the
 * evaluation does (greedy, stopping at the format's end token, special tokens dropped, trimmed).
 * The input budget keeps prompt + explanation within the training sequence length of the
 * adapter's run (or the model's context for a bare base model), and never beyond the context.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../backend/backend";
import { endToken } from "../data/prompts";
import { generate } from "../model/inference";
import type { Llama } from "../model/llama";
import { tokenizerFor } from "../model/open";
import { openModel } from "../lora/open";
import type { Tokenizer } from "../tokenizer/tokenizer";
import type { Provenance } from "./format";
import { fitPrompt, promptParts, truncationNote, type NarrationRequest } from "./prompt";
import { narrationSettings, type NarrationSettings, type SettingsOverrides } from "./settings";

/** How a narrator is opened and how it decodes. */
export interface NarratorOptions {
  model: string;
  adapter?: string;
  /** Tokens generated at most per explanation (default 64). */
  maxNewTokens?: number;
  /** Input tokens kept at most; default: what fits (see the module comment). */
  maxInputTokens?: number;
  /** No n-gram of this size twice in an explanation (default 3; 0: plain greedy decoding). */
  noRepeatNgramSize?: number;
  overrides?: SettingsOverrides;
}

/** One explanation, with what the reader must know about how it was made. */
export interface Narration {
  explanation: string;
  /** Visible notes: truncation, an empty answer. */
  notes: string[];
  inputTokens: number;
  keptInputTokens: number;
  generatedTokens: number;
}

/** A model (+ adapter) ready to explain code and changes. */
export class Narrator {
  private constructor(
    readonly model: Llama,
    readonly tokenizer: Tokenizer,
    readonly settings: NarrationSettings,
    readonly options: Readonly<NarratorOptions> & {
      maxNewTokens: number;
      noRepeatNgramSize: number;
    },
  ) {}

  /** Open the model (quantized as the adapter was trained) and its tokenizer. */
  static async open(opts: NarratorOptions): Promise<Narrator> {
    const maxNewTokens = opts.maxNewTokens ?? 64;
    if (!(Number.isInteger(maxNewTokens) && maxNewTokens > 0)) {
      throw new Error(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
    }
    const noRepeatNgramSize = opts.noRepeatNgramSize ?? 3;
    if (!(Number.isInteger(noRepeatNgramSize) && noRepeatNgramSize >= 0)) {
      throw new Error(`noRepeatNgramSize must be a non-negative integer, got ${noRepeatNgramSize}`);
    }
    if (opts.adapter !== undefined && !fs.existsSync(opts.adapter)) {
      throw new Error(`adapter directory not found: ${opts.adapter}`);
    }
    const settings = narrationSettings(opts.adapter, opts.overrides);
    await initBackend();
    const model = openModel(opts.model, {
      adapter: opts.adapter,
      quant: settings.quant,
      doubleQuant: settings.doubleQuant,
    });
    if (!fs.existsSync(path.join(opts.model, "tokenizer.json"))) {
      model.dispose();
      throw new Error(`${opts.model}: no tokenizer.json; a narrator needs the model's tokenizer`);
    }
    const tokenizer = tokenizerFor(opts.model);
    return new Narrator(model, tokenizer, settings, { ...opts, maxNewTokens, noRepeatNgramSize });
  }

  /** Input tokens a prompt with this frame may keep (errors name the limits when nothing fits). */
  inputBudget(frame: number): number {
    const context = this.model.config.max_position_embeddings;
    const newTokens = this.options.maxNewTokens;
    const room = context - frame - newTokens;
    const given = this.options.maxInputTokens;
    if (given !== undefined) {
      if (given > room) {
        throw new Error(
          `--max-input-tokens ${given} does not fit: the model's context is ${context} tokens, the ${this.settings.prompt} prompt frame takes ${frame} and --max-new-tokens ${newTokens}; at most ${Math.max(0, room)}`,
        );
      }
      return given;
    }
    const limit = Math.min(context, this.settings.maxLen ?? context);
    const budget = limit - frame - newTokens;
    if (budget <= 0) {
      throw new Error(
        `no room for the input: ${limit} tokens (${this.settings.maxLen ? "the adapter's training length" : "the model's context"}) minus the ${frame}-token ${this.settings.prompt} prompt frame and --max-new-tokens ${newTokens}`,
      );
    }
    return budget;
  }

  /** Explain one request. */
  narrate(req: NarrationRequest): Narration {
    const fmt = this.settings.prompt;
    const parts = promptParts(this.tokenizer, req, fmt);
    const prompt = fitPrompt(parts, this.inputBudget(parts.head.length + parts.tail.length));
    const end = this.tokenizer.tokenToId(endToken(fmt));
    const stop = [...new Set([...(end === undefined ? [] : [end]), ...this.tokenizer.stopIds()])];
    const out = generate(this.model, prompt.ids, {
      maxNewTokens: this.options.maxNewTokens,
      temperature: 0,
      stopTokens: stop,
      noRepeatNgramSize: this.options.noRepeatNgramSize,
    });
    const explanation = this.tokenizer.decode(out, { skipSpecial: true }).trim();
    const notes = [truncationNote(prompt), explanation === "" ? "the model wrote no text" : null];
    return {
      explanation,
      notes: notes.filter((n): n is string => n !== null),
      inputTokens: prompt.inputTokens,
      keptInputTokens: prompt.keptInputTokens,
      generatedTokens: out.length,
    };
  }

  /** What wrote the explanations, for the line every output ends with. */
  provenance(): Provenance {
    const n = this.options.noRepeatNgramSize;
    return {
      model: this.options.model,
      adapter: this.options.adapter ?? null,
      prompt: this.settings.prompt,
      decoding: n > 0 ? `greedy decoding, no repeated ${n}-grams` : "greedy decoding",
    };
  }

  /** Free the model's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}
