/**
 * Profiles: experiments/profiles/<name>.json, the scale at which experiments run (data, not code).
 * A profile names its base models, the model adapters train on, the languages and subset sizes,
 * training settings shared by every trial (maximum length, LoRA rank, prompt format, ...), the
 * seeds, how evaluation generates, which hyperparameters transfer, and the default worker count.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { LANGS } from "../data/langs";
import { readJson } from "../util/fs";
import { parseWithSchema } from "../util/schema";
import { EXPERIMENTS_DIR, heldOutName, shown } from "./paths";
import { checkSettings, isTrainField } from "./settings";

/** The profile used when none is named. */
export const DEFAULT_PROFILE = "mini";

const positiveInt = z.number().int().positive();
const seeds = z
  .array(z.number().int())
  .min(1)
  .refine((s) => new Set(s).size === s.length, "seeds must differ");

export const ProfileSchema = z
  .object({
    /** Must equal the file name without .json. */
    name: z.string().min(1),
    description: z.string().min(1),
    /** Model name -> model directory (HF layout), relative to the working directory. */
    models: z.record(z.string().min(1), z.string().min(1)),
    /** The model adapters train on (a key of models). */
    baseModel: z.string().min(1),
    languages: z.array(z.enum(LANGS)).min(1),
    /** Examples per language of each split. */
    sizes: z.object({ train: positiveInt, val: positiveInt, test: positiveInt }).strict(),
    /** Train config fields every trial shares (maxLen, loraR, prompt, quant, evalEvery, ...). */
    train: z.record(z.string(), z.unknown()).default({}),
    seeds: z.object({ sweep: seeds, table: seeds }).strict(),
    evaluate: z
      .object({
        /** Split evaluated when a definition does not name one. */
        split: z.enum(["val", "test"]).default("val"),
        /** Greedy generation: at most this many new tokens. */
        maxNewTokens: positiveInt,
        /** Generated examples kept per task and language. */
        samples: z.number().int().nonnegative(),
      })
      .strict(),
    /** Hyperparameters of transfer experiments: the study's choice, or this store's sweep winners. */
    transfer: z.enum(["study", "winners"]),
    /**
     * A held-out dataset (same layout as the data directory, e.g. written by `narrator data mine`
     * from other repositories), relative to the project root; definitions with evaluate.heldOut
     * are also evaluated on its test split. --eval-data overrides it.
     */
    evalData: z.string().min(1).optional(),
    /** Worker processes when --workers is not given (default: one per core). */
    workers: positiveInt.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!(p.baseModel in p.models))
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["baseModel"],
        message: `"${p.baseModel}" is not one of models (${Object.keys(p.models).join(", ")})`,
      });
    checkSettings(p.train, ctx, ["train"], isTrainField);
  });

/** A validated profile. */
export type Profile = z.output<typeof ProfileSchema>;

/** The profile with the held-out dataset given on the command line (--eval-data), if any. */
export function withEvalData(profile: Profile, dir: string | undefined): Profile {
  return dir === undefined ? profile : { ...profile, evalData: heldOutName(dir) };
}

/** Validate a profile; `source` names it in errors. */
export function parseProfile(raw: unknown, source: string): Profile {
  const p = parseWithSchema(ProfileSchema, raw, source, "profile");
  const base = path.basename(source, ".json");
  if (source.endsWith(".json") && p.name !== base)
    throw new Error(
      `${source}: invalid profile: name: "${p.name}" differs from the file name "${base}"`,
    );
  return p;
}

/** Read and validate experiments/profiles/<name>.json; an unknown name lists the known ones. */
export function loadProfile(name = DEFAULT_PROFILE, dir = EXPERIMENTS_DIR): Profile {
  const profiles = path.join(dir, "profiles");
  const file = path.join(profiles, `${name}.json`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(profiles)
      ? fs
          .readdirSync(profiles)
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.slice(0, -5))
      : [];
    throw new Error(`no profile '${name}' (${shown(file)}); known: ${known.join(", ") || "none"}`);
  }
  return parseProfile(readJson(file), shown(file));
}
