/**
 * Special tokens of the project.
 *
 * Two prompt formats use them:
 * - DeepSeek-Coder instruct (the study's base model): its own tokenizer.json, prompt
 *   "### Instruction:\n{instruction}\n### Response:\n" and target "{output}\n<|EOT|>".
 * - The compact format of the small models trained here, with a tokenizer trained by `train.ts`:
 *   `<|bos|><|code|>{code}<|summary|>{summary}<|eos|>` for code summarization and
 *   `<|bos|><|diff|>{diff}<|message|>{message}<|eos|>` for commit explanation; the loss covers the
 *   tokens after `<|summary|>` / `<|message|>` up to and including `<|eos|>`. Batches are padded
 *   with `<|pad|>`.
 */

/** Padding; never a training target. */
export const PAD = "<|pad|>";
/** Beginning of a sequence. */
export const BOS = "<|bos|>";
/** End of a sequence in the compact format. */
export const EOS = "<|eos|>";
/** End of turn: closes targets in the DeepSeek-Coder instruction format. */
export const EOT = "<|EOT|>";
/** Opens the source code of a code-summarization example. */
export const CODE = "<|code|>";
/** Opens the diff of a commit-explanation example. */
export const DIFF = "<|diff|>";
/** Opens the summary (the target) of a code-summarization example. */
export const SUMMARY = "<|summary|>";
/** Opens the commit message (the target) of a commit-explanation example. */
export const MESSAGE = "<|message|>";

/** All project special tokens in id order for a trained tokenizer (PAD gets id 0). */
export const SPECIAL_TOKENS: readonly string[] = [PAD, BOS, EOS, EOT, CODE, DIFF, SUMMARY, MESSAGE];

/** Token contents that end generation when they are special tokens of a tokenizer. */
export const END_TOKENS: readonly string[] = [
  EOS,
  EOT,
  "<｜end▁of▁sentence｜>", // DeepSeek-Coder
  "</s>",
  "<|endoftext|>",
  "<|end_of_text|>",
  "<|eot_id|>",
  "<|im_end|>",
];
