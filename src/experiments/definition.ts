/**
 * Experiment definitions: experiments/<name>.json, one per experiment, data not code. A definition
 * names the figure or table it backs, the question it answers, the settings it holds fixed and the
 * grid it varies (every combination of the grid's values is a trial, for each seed), how
 * trials are evaluated, and the study's claims it tests. Validated at load; an error names the file and the field.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { TASKS } from "../data/example";
import { readJson } from "../util/fs";
import { parseWithSchema } from "../util/schema";
import { EXPERIMENTS_DIR, shown } from "./paths";

export { PROJECT_ROOT, EXPERIMENTS_DIR, shown } from "./paths";
import { checkSettings } from "./settings";
import { checkClaims, ClaimSchema } from "./claims";

const settingsRecord = z.record(z.string(), z.unknown());

export const DefinitionSchema = z
  .object({
    /** Must equal the file name without .json. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes"),
    /** The figure or table this experiment backs, e.g. "Fig. 2". */
    figure: z.string().min(1),
    title: z.string().min(1),
    question: z.string().min(1),
    /**
     * How reports and notebooks show it: the page's title and, for a page with settings figures
     * (a sweep's, the cocktail's adapters), their id prefix and title and the setting's name as
     * axes read it.
     */
    page: z
      .object({
        title: z.string().min(1),
        figureId: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes")
          .optional(),
        figureTitle: z.string().min(1).optional(),
        setting: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** Train with the profile's transferred hyperparameters (study's or this store's winners). */
    transfer: z.boolean().default(false),
    /** Which of the profile's seed lists: "sweep" (figures) or "table" (Table 1). */
    seeds: z.enum(["sweep", "table"]),
    /** Settings held at one value in every trial. */
    fixed: settingsRecord.default({}),
    /** Settings varied: every combination of these values is a trial. "all" (model, trainLanguage): every profile model or language. */
    grid: z.record(z.string(), z.union([z.array(z.unknown()).min(1), z.literal("all")])),
    evaluate: z
      .object({
        /** Tasks whose data each trial is evaluated on. */
        tasks: z.array(z.enum(TASKS)).min(1),
        /** Split to evaluate (default: the profile's). */
        split: z.enum(["val", "test"]).optional(),
        /** Also decode greedily and score BLEU-4 / ROUGE-L (and keep samples). */
        generate: z.boolean().default(false),
        /**
         * Also evaluate CE on the test split of the held-out dataset (the profile's `evalData`,
         * or --eval-data), when one is given: repositories no training data came from.
         */
        heldOut: z.boolean().default(false),
      })
      .strict(),
    /** The study's claims this experiment tests (see ./claims.ts); reports judge each one. */
    claims: z.array(ClaimSchema).default([]),
  })
  .strict()
  .superRefine((d, ctx) => {
    checkClaims(
      d.claims,
      { fixed: d.fixed, grid: d.grid, tasks: d.evaluate.tasks, heldOut: d.evaluate.heldOut },
      ctx,
    );
    checkSettings(d.fixed, ctx, ["fixed"]);
    const grid = Object.fromEntries(Object.entries(d.grid).filter(([, v]) => v !== "all"));
    checkSettings(grid, ctx, ["grid"]);
    for (const [name, v] of Object.entries(d.grid)) {
      if (v === "all" && name !== "model" && name !== "trainLanguage")
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["grid", name],
          message: `"all" is for model and trainLanguage only; list the values`,
        });
      if (name in d.fixed)
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["grid", name],
          message: "also in fixed: a setting is either fixed or varied",
        });
    }
    if (Object.keys(d.grid).length === 0)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["grid"],
        message: "vary at least one setting",
      });
    if (!("trainedOn" in d.fixed) && !("trainedOn" in d.grid))
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["fixed", "trainedOn"],
        message: "say what trials train on (fixed or grid)",
      });
  });

/** A validated experiment definition. */
export type ExperimentDefinition = z.output<typeof DefinitionSchema>;

/** Validate a definition; `source` names it in errors (a file path). */
export function parseDefinition(raw: unknown, source: string): ExperimentDefinition {
  const d = parseWithSchema(DefinitionSchema, raw, source, "experiment definition");
  const base = path.basename(source, ".json");
  if (source.endsWith(".json") && d.name !== base)
    throw new Error(
      `${source}: invalid experiment definition: name: "${d.name}" differs from the file name "${base}"`,
    );
  return d;
}

/** The experiment names defined in `dir` (file names without .json), sorted. */
export function listExperiments(dir = EXPERIMENTS_DIR): string[] {
  if (!fs.existsSync(dir)) throw new Error(`${shown(dir)}: no experiments directory`);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Read and validate experiments/<name>.json; an unknown name lists the known ones. */
export function loadDefinition(name: string, dir = EXPERIMENTS_DIR): ExperimentDefinition {
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file))
    throw new Error(
      `no experiment '${name}' (${shown(file)}); known: ${listExperiments(dir).join(", ")}`,
    );
  return parseDefinition(readJson(file), shown(file));
}
