/**
 * The study's claims an experiment tests, as data (a definition's `claims`). Three kinds:
 * - "best": of the values of one swept setting, the study's choice gives the lowest CE on a task
 *   (Figs 2-6: Adagrad, constant with warmup, 1 epoch, batch 4, lr 2e-4);
 * - "change": the relative change of CE from a baseline slice to a treatment slice, with the
 *   study's own numbers or only its direction (Table 1: the cocktail lowers test CE by about 14%);
 * - "transfer": the setting that is best on one slice is also best on another (hyperparameters
 *   tuned on CodeSearchNet hold on CommitPackFT), for experiments that evaluate both.
 * A slice is a task and the settings its trials must have (`where`), on the trial's own split or
 * the held-out dataset's, over every evaluated language or the ones it names; "$baseModel" stands for the profile's base model. Claims are checked against the definition here; reports judge them.
 */
import { z } from "zod";
import { TASKS } from "../data/example";
import { LANGS } from "../data/langs";
import { settingProblem } from "./settings";

/** The profile's base model, where a claim's slice names a model. */
export const BASE_MODEL_REF = "$baseModel";

const settingValue = z.union([z.string(), z.number(), z.boolean()]);

/** Trials of one task whose settings match `where` (grid settings, trainedOn, model). */
const SliceSchema = z
  .object({
    task: z.enum(TASKS),
    where: z.record(z.string(), settingValue).default({}),
    /** Read the evaluation on the held-out dataset (evaluate.heldOut) instead of the trial's split. */
    heldOut: z.boolean().default(false),
    /** Only these evaluated languages (default: every one evaluated). */
    languages: z.array(z.enum(LANGS)).min(1).optional(),
  })
  .strict();

const common = {
  /** Unique within the definition: lowercase letters, digits and dashes. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and dashes"),
  /** The claim in a sentence, as a reviewer reads it. */
  text: z.string().min(1),
  /** Where the study makes it, e.g. "Fig. 2, section 6.2". */
  source: z.string().min(1),
  /** The measure compared: cross-entropy (the only one kept per example). */
  metric: z.literal("ce").default("ce"),
};

const BestClaim = z
  .object({
    ...common,
    kind: z.literal("best"),
    /** The swept setting (a grid key). */
    setting: z.string().min(1),
    /** The study's choice: one of the grid's values. */
    study: settingValue,
    task: z.enum(TASKS),
    where: z.record(z.string(), settingValue).default({}),
  })
  .strict();

const TransferClaim = z
  .object({
    ...common,
    kind: z.literal("transfer"),
    setting: z.string().min(1),
    study: settingValue,
    from: SliceSchema,
    to: SliceSchema,
  })
  .strict();

const ChangeClaim = z
  .object({
    ...common,
    kind: z.literal("change"),
    baseline: SliceSchema,
    treatment: SliceSchema,
    /** The study's CEs (relative change = treatment / baseline - 1), or the direction it reports. */
    study: z.union([
      z.object({ baseline: z.number().positive(), treatment: z.number().positive() }).strict(),
      z.enum(["lower", "higher"]),
    ]),
  })
  .strict();

export const ClaimSchema = z.discriminatedUnion("kind", [BestClaim, TransferClaim, ChangeClaim]);

/** A validated claim. */
export type Claim = z.output<typeof ClaimSchema>;
export type ClaimKind = Claim["kind"];
/** A validated slice. */
export type Slice = z.output<typeof SliceSchema>;

/** The slices a claim reads. */
export function claimSlices(c: Claim): { name: string; slice: Slice }[] {
  switch (c.kind) {
    case "best":
      return [{ name: "", slice: { task: c.task, where: c.where, heldOut: false } }];
    case "transfer":
      return [
        { name: "from", slice: c.from },
        { name: "to", slice: c.to },
      ];
    case "change":
      return [
        { name: "baseline", slice: c.baseline },
        { name: "treatment", slice: c.treatment },
      ];
  }
}

/** What checkClaims needs of a definition. */
export interface ClaimContext {
  fixed: Record<string, unknown>;
  grid: Record<string, unknown[] | "all">;
  tasks: readonly string[];
  /** Whether the definition also evaluates the held-out dataset. */
  heldOut: boolean;
}

/** Add an issue for each claim that cannot be judged on this definition's trials. */
export function checkClaims(claims: readonly Claim[], d: ClaimContext, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["claims", ...path], message });
  const seen = new Set<string>();
  claims.forEach((c, i) => {
    if (seen.has(c.id)) issue([i, "id"], `"${c.id}" is used by another claim`);
    seen.add(c.id);
    for (const { name, slice } of claimSlices(c)) {
      const at = name ? [i, name] : [i];
      if (slice.heldOut && !d.heldOut)
        issue(
          [...at, "heldOut"],
          "the experiment does not evaluate a held-out dataset (evaluate.heldOut)",
        );
      if (!d.tasks.includes(slice.task))
        issue(
          [...at, "task"],
          `"${slice.task}" is not evaluated by this experiment (${d.tasks.join(", ")})`,
        );
      for (const [k, v] of Object.entries(slice.where)) {
        if (!(k in d.grid) && !(k in d.fixed) && k !== "model")
          issue([...at, "where", k], "neither fixed nor varied by this experiment");
        else if (!(k === "model" && v === BASE_MODEL_REF)) {
          const p = settingProblem(k, v);
          if (p !== null) issue([...at, "where", k], p);
        }
      }
    }
    if (c.kind === "best" || c.kind === "transfer") {
      const values = d.grid[c.setting];
      if (values === undefined) issue([i, "setting"], `"${c.setting}" is not varied by the grid`);
      else if (values !== "all" && !values.includes(c.study))
        issue(
          [i, "study"],
          `${JSON.stringify(c.study)} is not one of the grid's values of ${c.setting}`,
        );
    }
  });
}
