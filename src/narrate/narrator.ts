/**
 * A narrator: a base model (+ adapter) that explains one request at a time, decoding as the
 * evaluation does (greedy or beam search, stopping at the format's end token, special tokens
 * dropped, trimmed). The input budget keeps prompt + explanation within the training sequence
 * length of the adapter's run (or the model's context for a bare base model), and never beyond
 * the context.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../backend/backend";
import { endToken } from "../data/prompts";
import { checkDecoding, describeDecoding, type GenerateOptions } from "../model/decoding";
import { generate } from "../model/inference";
import type { Llama } from "../model/llama";
import { tokenizerFor } from "../model/open";
import { openModel } from "../lora/open";
import type { Tokenizer } from "../tokenizer/tokenizer";
import {
  fitPrompt,
  promptParts,
  truncationNote,
  type NarrationPrompt,
  type NarrationRequest,
  type PromptParts,
} from "./prompt";
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
  /** Files of a long change narrated alone at most (default 8; see src/narrate/change.ts). */
  maxFiles?: number;
  /** Beam search with this many beams (default 1: greedy decoding). */
  beams?: number;
  /** Beam search's length penalty (default 1). */
  lengthPenalty?: number;
  /** No end token before this many generated tokens (default 0). */
  minNewTokens?: number;
  overrides?: SettingsOverrides;
}

/** Who wrote the explanations, for the line that says so. */
export interface Provenance {
  model: string;
  adapter: string | null;
  prompt: string;
  /** How the text was decoded, e.g. "greedy decoding, no repeated 3-grams". */
  decoding: string;
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
      maxFiles: number;
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
    const maxFiles = opts.maxFiles ?? 8;
    if (!(Number.isInteger(maxFiles) && maxFiles >= 0)) {
      throw new Error(`maxFiles must be a non-negative integer, got ${maxFiles}`);
    }
    checkDecoding({
      beams: opts.beams,
      lengthPenalty: opts.lengthPenalty,
      maxNewTokens,
      minNewTokens: opts.minNewTokens,
    });
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
    return new Narrator(model, tokenizer, settings, {
      ...opts,
      maxNewTokens,
      noRepeatNgramSize,
      maxFiles,
    });
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

  /** The frame and input ids of a request in the narrator's prompt format. */
  promptParts(req: NarrationRequest): PromptParts {
    return promptParts(this.tokenizer, req, this.settings.prompt);
  }

  /** Explain one request, its input cut to what fits. */
  narrate(req: NarrationRequest): Narration {
    const parts = this.promptParts(req);
    return this.complete(fitPrompt(parts, this.inputBudget(parts.head.length + parts.tail.length)));
  }

  /** How the narrator decodes: the format's end token and the tokenizer's stop tokens end a text. */
  decoding(): GenerateOptions {
    const end = this.tokenizer.tokenToId(endToken(this.settings.prompt));
    const stop = [...new Set([...(end === undefined ? [] : [end]), ...this.tokenizer.stopIds()])];
    const beams = this.options.beams ?? 1;
    return {
      maxNewTokens: this.options.maxNewTokens,
      temperature: 0,
      stopTokens: stop,
      noRepeatNgramSize: this.options.noRepeatNgramSize,
      minNewTokens: this.options.minNewTokens,
      ...(beams > 1 ? { beams, lengthPenalty: this.options.lengthPenalty ?? 1 } : {}),
    };
  }

  /** Explain a prompt already built within the budget. */
  complete(prompt: NarrationPrompt): Narration {
    const out = generate(this.model, prompt.ids, this.decoding());
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
    return {
      model: this.options.model,
      adapter: this.options.adapter ?? null,
      prompt: this.settings.prompt,
      decoding: describeDecoding(this.decoding()),
    };
  }

  /** Free the model's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}
