/**
 * Row schemas of the two published datasets. Only the fields the pipeline uses are required and
 * type-checked; the other published fields (code_tokens, docstring_tokens, sha, ...) are dropped.
 */
import { z } from "zod";

/**
 * CodeSearchNet row (published fields: repo, path, func_name, original_string, language, code,
 * code_tokens, docstring, docstring_tokens, sha, url, partition).
 */
export const codeSearchNetRowSchema = z.object({
  repo: z.string(),
  path: z.string(),
  func_name: z.string(),
  language: z.string(),
  code: z.string(),
  docstring: z.string(),
  partition: z.enum(["train", "valid", "validation", "test"]),
  url: z.string().optional(),
});
export type CodeSearchNetRow = z.infer<typeof codeSearchNetRowSchema>;

/**
 * CommitPackFT row (published fields: commit, old_file, new_file, old_contents, new_contents,
 * subject, message, lang, license, repos).
 */
export const commitPackFtRowSchema = z.object({
  commit: z.string(),
  old_file: z.string(),
  new_file: z.string(),
  old_contents: z.string(),
  new_contents: z.string(),
  subject: z.string(),
  message: z.string(),
  lang: z.string(),
  repos: z.string(),
  license: z.string().optional(),
});
export type CommitPackFtRow = z.infer<typeof commitPackFtRowSchema>;

/**
 * Column names of the Hugging Face `code_search_net` conversion (its parquet shards) mapped to the
 * published names; applied only where the published name is absent.
 */
export const CODESEARCHNET_HF_COLUMNS: Readonly<Record<string, string>> = {
  repository_name: "repo",
  func_path_in_repository: "path",
  whole_func_string: "original_string",
  func_code_string: "code",
  func_code_tokens: "code_tokens",
  func_documentation_string: "docstring",
  func_documentation_tokens: "docstring_tokens",
  split_name: "partition",
  func_code_url: "url",
};

/** Rename aliased columns to their published names, never overwriting a field that is present. */
export function renameColumns(
  row: Record<string, unknown>,
  aliases: Readonly<Record<string, string>>,
): void {
  for (const [alias, name] of Object.entries(aliases)) {
    if (alias in row && !(name in row)) {
      row[name] = row[alias];
      delete row[alias];
    }
  }
}
