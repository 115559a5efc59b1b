/** `narrator score | generate | quantize`: the model core from the command line. */
import { initBackend } from "../backend/backend";
import { tokenizerFor } from "../model/open";
import { openModel } from "../lora/open";
import { describeDecoding, type GenerateOptions } from "../model/decoding";
import { sequenceLogprobs, generate } from "../model/inference";
import { quantizeModelDir } from "../model/quantize_dir";
import { PRESET_NAMES, presetConfig } from "../model/presets";
import { writeRandomCheckpoint, type FloatDtype } from "../model/random_checkpoint";
import { intList, numberOpt, required, UsageError, type Command } from "./args";
import { DECODING_HELP, DECODING_OPTIONS, decodingOptions } from "./decoding_options";

const modelOptions = {
  model: { type: "string" },
  adapter: { type: "string" },
  quant: { type: "string" },
} as const;

function quantOf(v: unknown): "none" | "nf4" {
  if (v === undefined) return "none";
  if (v === "none" || v === "nf4") return v;
  throw new UsageError(`--quant expects none or nf4, got '${String(v)}'`);
}

export const score: Command = {
  summary: "per-token log-probabilities of a sequence under a model (+ adapter)",
  usage: `usage: narrator score --model DIR [--adapter DIR] [--quant none|nf4] (--text STR | --ids 1,2,3)

Prints {"ids": [...], "logprobs": [...]} where logprobs[i] = log p(ids[i+1] | ids[0..i]).
--text is tokenized with the model directory's tokenizer.json.`,
  options: { ...modelOptions, text: { type: "string" }, ids: { type: "string" } },
  async run(v) {
    const dir = required(v, "model", score.usage);
    if ((v.text === undefined) === (v.ids === undefined)) {
      throw new UsageError(`give exactly one of --text or --ids\n\n${score.usage}`);
    }
    await initBackend();
    const ids =
      v.ids !== undefined
        ? intList(v.ids as string, "ids")
        : tokenizerFor(dir).encode(v.text as string);
    const model = openModel(dir, {
      adapter: v.adapter as string | undefined,
      quant: quantOf(v.quant),
      plan: { batchSize: 1, seqLen: ids.length, what: `scoring ${ids.length} tokens` },
    });
    const logprobs = sequenceLogprobs(model, ids);
    // JSON would print NaN and infinities as null, which reads as a result.
    const bad = logprobs.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new Error(
        `${dir}: log-probability of token ${bad + 1} (id ${ids[bad + 1]}) is ${logprobs[bad]}; the model gives non-finite numbers, nothing printed`,
      );
    }
    process.stdout.write(JSON.stringify({ ids, logprobs }) + "\n");
  },
};

export const generateCmd: Command = {
  summary: "continue a text with a model (+ adapter): greedy or sampled, with a KV cache",
  usage: `usage: narrator generate --model DIR [--adapter DIR] [--quant none|nf4] (--text STR | --ids 1,2,3)
       [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed N]
       [--no-repeat-ngram N] [--beams N [--length-penalty X]] [--min-new-tokens N] [--json]

Greedy when --temperature is 0 (the default). Stops at the tokenizer's end tokens.
Prints the text, or with --json (or --ids) {"ids", "text", "decoding"}.
--no-repeat-ngram N: never generate the same N-token sequence twice (default 0: off; per beam).
With native kernels (backend wasm+native) attention runs fused by default, and 4-bit layers and
an output head kept as stored (bf16/f16) multiply straight from their stored weights.
${DECODING_HELP}`,
  options: {
    ...modelOptions,
    text: { type: "string" },
    ids: { type: "string" },
    "max-new-tokens": { type: "string" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    seed: { type: "string" },
    "no-repeat-ngram": { type: "string" },
    ...DECODING_OPTIONS,
    json: { type: "boolean" },
  },
  async run(v) {
    const dir = required(v, "model", generateCmd.usage);
    if ((v.text === undefined) === (v.ids === undefined)) {
      throw new UsageError(`give exactly one of --text or --ids\n\n${generateCmd.usage}`);
    }
    await initBackend();
    const tok = v.text !== undefined ? tokenizerFor(dir) : undefined;
    const prompt = tok ? tok.encode(v.text as string) : intList(v.ids as string, "ids");
    const maxNewTokens = numberOpt(v, "max-new-tokens", 64, { integer: true, min: 1 });
    const model = openModel(dir, {
      adapter: v.adapter as string | undefined,
      quant: quantOf(v.quant),
      plan: {
        batchSize: 1,
        seqLen: prompt.length + maxNewTokens,
        what: `generating ${maxNewTokens} tokens after ${prompt.length}`,
      },
    });
    const decoding: GenerateOptions = {
      maxNewTokens,
      temperature: numberOpt(v, "temperature", 0, { min: 0 }),
      topK: numberOpt(v, "top-k", 0, { integer: true, min: 0 }),
      topP: numberOpt(v, "top-p", 1, { above: 0, max: 1 }),
      seed: numberOpt(v, "seed", 0, { integer: true }),
      stopTokens: tok ? tok.stopIds() : [],
      noRepeatNgramSize: numberOpt(v, "no-repeat-ngram", 0, { integer: true, min: 0 }),
      ...decodingOptions(v),
    };
    const out = generate(model, prompt, decoding);
    const text = tok ? tok.decode(out, { skipSpecial: true }) : undefined;
    if (v.json || !tok) {
      process.stdout.write(
        JSON.stringify({ ids: out, text, decoding: describeDecoding(decoding) }) + "\n",
      );
    } else process.stdout.write(text + "\n");
  },
};

export const quantize: Command = {
  summary: "write a model with every linear layer in bitsandbytes' 4-bit NF4 layout",
  usage: `usage: narrator quantize --model DIR --out DIR [--double-quant] [--blocksize N]

Linear weights become packed U8 tensors with .absmax, .quant_map (and with --double-quant
.nested_absmax, .nested_quant_map) and .quant_state.bitsandbytes__nf4; config.json gets the
quantization_config that Hugging Face writes for a 4-bit NF4 model. \`score\` loads it back.`,
  options: {
    model: { type: "string" },
    out: { type: "string" },
    "double-quant": { type: "boolean" },
    blocksize: { type: "string" },
  },
  async run(v) {
    const dir = required(v, "model", quantize.usage);
    const out = required(v, "out", quantize.usage);
    const blocksize = numberOpt(v, "blocksize", 64, { integer: true });
    const report = quantizeModelDir(dir, out, {
      blocksize,
      doubleQuant: v["double-quant"] === true,
    });
    process.stdout.write(report + "\n");
  },
};

const DTYPES: Record<string, FloatDtype> = { bf16: "BF16", f16: "F16", f32: "F32" };

export const randomModel: Command = {
  summary: "write a random-weight checkpoint of a preset's exact shape (HF layout, bf16)",
  usage: `usage: narrator model random --preset NAME --out DIR [--shards N] [--seed S] [--dtype bf16|f16|f32]

Writes config.json and model.safetensors, or with --shards N > 1 the Hugging Face shards
model-0000k-of-0000N.safetensors and model.safetensors.index.json. Weights ~ N(0, 0.02) and
norms 1, as Hugging Face initialises a Llama model; the same seed writes the same bytes.
Written tensor by tensor, so a checkpoint larger than memory can be made.
Presets: ${PRESET_NAMES.join(", ")}.`,
  options: {
    preset: { type: "string" },
    out: { type: "string" },
    shards: { type: "string" },
    seed: { type: "string" },
    dtype: { type: "string" },
  },
  async run(v) {
    const preset = required(v, "preset", randomModel.usage);
    const out = required(v, "out", randomModel.usage);
    const dtype = DTYPES[(v.dtype as string | undefined) ?? "bf16"];
    if (!dtype) throw new UsageError(`--dtype expects bf16, f16 or f32, got '${String(v.dtype)}'`);
    let config;
    try {
      config = presetConfig(preset);
    } catch (e) {
      throw new UsageError(`--preset: ${(e as Error).message}`);
    }
    const report = writeRandomCheckpoint(out, config, {
      seed: numberOpt(v, "seed", 0, { integer: true, min: 0 }),
      shards: numberOpt(v, "shards", 1, { integer: true, min: 1 }),
      dtype,
    });
    process.stdout.write(report + "\n");
  },
};
