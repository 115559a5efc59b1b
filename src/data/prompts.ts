/**
 * How an example becomes the text a model reads and the text it learns to write.
 *
 * Two formats:
 * - `deepseek`: DeepSeek-Coder's instruction format (its finetune script): system text, then
 *   "### Instruction:\n{instruction}\n### Response:\n", and the target "{output}\n<|EOT|>".
 * - `compact`: special-token markers for small models that have never seen an instruction format:
 *   `<|code|>{input}<|summary|>{target}<|eos|>` for functions, `<|diff|>{input}<|message|>{target}<|eos|>`
 *   for commits.
 *
 * A formatted example keeps its parts apart (frame before the input, the input, frame after it, the
 * target) so that truncation can cut the input and keep the frame and the target, and so that the
 * prompt (everything before the target) is masked out of the loss.
 */
import type { Example, Task } from "./example";
import { SOURCE_LANG_NAMES, type SourceLang } from "../source/languages";
import { CODE, DIFF, EOS, EOT, MESSAGE, SUMMARY } from "../tokenizer/special";

/** The prompt formats. */
export const PROMPT_FORMATS = ["deepseek", "compact"] as const;
export type PromptFormat = (typeof PROMPT_FORMATS)[number];

/** Compact-format markers: what the model reads, then what it writes. */
export const COMPACT_MARKERS: Readonly<Record<Task, { input: string; target: string }>> = {
  codesearchnet: { input: CODE, target: SUMMARY },
  commitpackft: { input: DIFF, target: MESSAGE },
};

/**
 * DeepSeek-Coder's system text, verbatim from its finetune script (`build_instruction_prompt`):
 * the instruct model was tuned with it, so prompts keep it.
 */
export const DEEPSEEK_SYSTEM =
  "You are an AI programming assistant, utilizing the DeepSeek Coder model, developed by DeepSeek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer.";

/** A piece of formatted text: plain text to tokenize, or one special token by its literal. */
export type Segment = { text: string } | { special: string };

/** An example laid out for tokenization; the prompt is prefix + input + suffix. */
export interface FormattedExample {
  /** Everything before the input (system text, instruction, input marker). */
  prefix: Segment[];
  /** The code or change the model reads: the part cut first when an example is too long. */
  input: string;
  /** Everything between the input and the target (response header, target marker). */
  suffix: Segment[];
  /** What the model learns to write, ending with the format's end token. */
  target: Segment[];
}

/** The instruction for a task: what to explain, for whom (a reader who does not program); any scanner language. */
export function instructionFor(task: Task, language: SourceLang): string {
  const lang = SOURCE_LANG_NAMES[language];
  return task === "codesearchnet"
    ? `Explain what the following ${lang} function does, in one or two plain-English sentences ` +
        `that a non-technical manager can follow. Say what it is for, not how the code is written.`
    : `Explain what the following change to a ${lang} file does and why it was made, in a short ` +
        `plain-English summary that a non-technical manager can follow.`;
}

/** The literal of the token that ends a target in a format. */
export function endToken(format: PromptFormat): string {
  return format === "deepseek" ? EOT : EOS;
}

/** Every special token a format needs from the tokenizer. */
export function specialTokensOf(format: PromptFormat): string[] {
  if (format === "deepseek") return [EOT];
  const markers = Object.values(COMPACT_MARKERS).flatMap((m) => [m.input, m.target]);
  return [...markers, EOS];
}

/** Lay out an example in a format (see the module comment). */
export function formatExample(
  ex: Pick<Example, "task" | "input" | "target"> & { language: SourceLang },
  format: PromptFormat,
): FormattedExample {
  if (format === "deepseek") {
    // build_instruction_prompt strips the instruction, so the input loses trailing whitespace.
    return {
      prefix: [
        {
          text: `${DEEPSEEK_SYSTEM}\n### Instruction:\n${instructionFor(ex.task, ex.language)}\n`,
        },
      ],
      input: ex.input.trimEnd(),
      suffix: [{ text: "\n### Response:\n" }],
      target: [{ text: `${ex.target}\n` }, { special: EOT }],
    };
  }
  const markers = COMPACT_MARKERS[ex.task];
  return {
    prefix: [{ special: markers.input }],
    input: ex.input,
    suffix: [{ special: markers.target }],
    target: [{ text: ex.target }, { special: EOS }],
  };
}

/** The whole formatted text (for display and for tokenizers that parse special tokens). */
export function renderText(f: FormattedExample): { prompt: string; target: string } {
  const join = (s: Segment[]) => s.map((p) => ("text" in p ? p.text : p.special)).join("");
  return { prompt: join(f.prefix) + f.input + join(f.suffix), target: join(f.target) };
}
