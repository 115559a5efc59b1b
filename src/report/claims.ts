/**
 * The study's claims judged on our results: for each claim of each experiment definition, what the
 * study says, our estimate with a paired bootstrap 95% interval (./bootstrap.ts) over the test
 * examples and seeds, and a verdict. Pure: the same input gives the same results.
 *
 * Verdicts ("the interval" is the 95% percentile interval of the paired bootstrap):
 * - best (the study's choice c has the lowest CE of a sweep's settings): agrees when, against every
 *   other setting r, the interval of CE(r) - CE(c) lies above zero; disagrees when, against some r,
 *   it lies below zero (r is lower beyond the noise); not resolved otherwise.
 * - change (CE moves from a baseline slice to a treatment slice as the study reports): the effect
 *   is the relative change CE(treatment) / CE(baseline) - 1; agrees when its interval excludes zero
 *   on the study's side, disagrees when it excludes zero on the other side, not resolved when it
 *   holds zero. Our models are far smaller than the study's, so the direction is judged, and
 *   whether the study's own value lies inside our interval is stated beside it.
 * - transfer (the best setting on one slice is the best on another): a setting is resolved best on
 *   a slice when every other setting's difference to it lies above zero; agrees when the same
 *   setting is resolved best on both, disagrees when the one resolved best on `from` is beaten on
 *   `to` beyond the noise, not resolved otherwise.
 * Each interval holds at 95% on its own: no correction for several comparisons (requiring every one
 * for "agrees" is the stricter side; "disagrees" can come from any one of them).
 *
 * A claim is not resolved, with the reason, when its trials are unfinished, when their results
 * were stored without per-example CE terms (older runs: rerun the sweep), or when the settings
 * compared were evaluated on different examples.
 */
import type { ExampleRow, SettingValue, TrialRow } from "../experiments/rows";
import { BASE_MODEL_REF, type Claim, type ClaimKind, type Slice } from "../experiments/claims";
import { formatNumber } from "../experiments/settings";
import { TASK_NAMES, type Task } from "../data/example";
import { LANGS } from "../data/langs";
import {
  bootstrap,
  EXACT_LIMIT,
  LEVEL,
  REPLICATES,
  seedOf,
  type BootstrapInput,
  type Interval,
  type Series,
} from "./bootstrap";
import { settingOrder } from "./figures/style";
import {
  EXPERIMENTS,
  type ExperimentName,
  type ExperimentResults,
  type ReportInput,
} from "./inputs";

export type Verdict = "agrees" | "disagrees" | "not resolved";
export const VERDICTS: readonly Verdict[] = ["agrees", "disagrees", "not resolved"];

/** One number behind a verdict: a setting's CE or a difference, with its interval. */
export interface ClaimDetail {
  what: string;
  estimate: number;
  lo: number;
  hi: number;
  /** "nats" for CE and differences of CE, "relative" for relative changes. */
  unit: "nats" | "relative";
}

/** A claim judged on our results. */
export interface ClaimResult {
  experiment: ExperimentName;
  id: string;
  kind: ClaimKind;
  text: string;
  source: string;
  /** The page and figure the claim is about (relative link). */
  figure: string;
  /** The study's value (a setting's value, a relative change, or a direction) and how it reads. */
  study: { value: SettingValue; text: string };
  /** Our effect (see `effect`), its interval; null when not resolved for lack of data. */
  estimate: number | null;
  interval: [number, number] | null;
  /** What `estimate` measures, and how it reads. */
  effect: string;
  ours: string;
  unit: ClaimDetail["unit"];
  /** Examples (all strata of the claim) and seed slots resampled. */
  n: { examples: number; seeds: number } | null;
  verdict: Verdict;
  reason: string;
  /** How the interval was computed. */
  method: string | null;
  details: ClaimDetail[];
}

/** A claim with no interval: unfinished trials, missing per-example data, nothing to compare. */
class Unresolved extends Error {}

/**
 * A signed effect: a relative change in percent (two decimals below 1%, so that small effects and
 * their intervals stay readable), or a CE difference in nats.
 */
export function formatEffect(x: number, unit: ClaimDetail["unit"]): string {
  const sign = x > 0 ? "+" : x < 0 ? "−" : "";
  if (unit === "nats") return `${sign}${Math.abs(x).toFixed(3)}`;
  const percent = Math.abs(100 * x);
  return `${sign}${percent.toFixed(percent < 1 ? 2 : 1)}%`;
}
const pct = (x: number) => formatEffect(x, "relative");
const fmtInterval = (i: Interval, unit: ClaimDetail["unit"]) =>
  `${formatEffect(i.estimate, unit)} [${formatEffect(i.lo, unit)}, ${formatEffect(i.hi, unit)}]`;
const valueText = (v: SettingValue) => (typeof v === "number" ? formatNumber(v) : String(v));

/** What the claims read of one experiment. */
interface Context {
  experiment: ExperimentName;
  profile: string;
  results: ExperimentResults;
  baseModel: string | null;
}

/** A trial's value of a setting: model and trainedOn columns, the grid, else the fixed settings. */
function settingOf(ctx: Context, t: TrialRow, name: string): unknown {
  if (name === "model") return t.model;
  if (name === "trainedOn") return t.trainedOn;
  return t.settings[name] ?? ctx.results.definition?.fixed?.[name];
}

/** Trials of a slice's settings (every status). */
function sliceTrials(ctx: Context, slice: Slice): TrialRow[] {
  return ctx.results.trials.filter((t) =>
    Object.entries(slice.where).every(([k, v]) => {
      if (k === "model" && v === BASE_MODEL_REF) {
        if (ctx.baseModel === null) throw new Unresolved("the profile's base model is not known");
        return t.model === ctx.baseModel;
      }
      return settingOf(ctx, t, k) === v;
    }),
  );
}

/** Strata (task and language) shared by every series of a claim, with their example hashes. */
class Strata {
  readonly sizes: number[] = [];
  private index = new Map<string, { at: number; hash: string }>();

  /** The stratum of rows of (split, task, language): its index, checking it holds the same examples. */
  at(row: ExampleRow): number {
    const key = `${row.split}/${row.task}/${row.language}`;
    const known = this.index.get(key);
    if (known === undefined) {
      this.index.set(key, { at: this.sizes.length, hash: row.idsHash });
      this.sizes.push(row.nll.length);
      return this.sizes.length - 1;
    }
    if (known.hash !== row.idsHash || this.sizes[known.at] !== row.nll.length)
      throw new Unresolved(
        `the settings compared were evaluated on different ${TASK_NAMES[row.task]} ${row.language} examples`,
      );
    return known.at;
  }
}

/** One series to build: its name, task and trials (one per seed, or one for a seedless base). */
interface SeriesPlan {
  name: string;
  task: Task;
  /** Read the held-out dataset's evaluation instead of the trial's own split. */
  heldOut: boolean;
  /** Only these evaluated languages (undefined: all). */
  languages?: readonly string[];
  trials: TrialRow[];
}

/** Bootstrap input of planned series: checks status, per-example data, examples and seeds. */
function seriesInput(
  ctx: Context,
  plans: readonly SeriesPlan[],
): BootstrapInput & { examples: number } {
  const rerun = `narrator sweep ${ctx.experiment} --profile ${ctx.profile}`;
  for (const p of plans) {
    if (p.trials.length === 0) throw new Unresolved(`no trials of ${p.name}`);
    const open = p.trials.filter((t) => t.status !== "completed");
    if (open.length > 0)
      throw new Unresolved(
        `${open.length} of ${p.trials.length} trials of ${p.name} are not completed (${[...new Set(open.map((t) => t.status))].join(", ")}); run: ${rerun}`,
      );
  }
  const rows = ctx.results.examples ?? [];
  // A run shared by several trials of the experiment (the base model under every trainLanguage)
  // has its rows once per trial: keep one per split, task and language.
  const byKey = new Map<string, ExampleRow[]>();
  const seen = new Set<string>();
  for (const r of rows) {
    const id = `${r.key}/${r.split}/${r.task}/${r.language}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (!byKey.has(r.key)) byKey.set(r.key, []);
    byKey.get(r.key)!.push(r);
  }
  // Seed slots: the seeds of series with several trials; a single trial (the untrained base
  // model, whose numbers do not depend on the seed) stands for every slot.
  const multi = plans.filter((p) => p.trials.length > 1);
  const seeds = [
    ...new Set((multi.length ? multi : plans).flatMap((p) => p.trials.map((t) => t.seed))),
  ];
  seeds.sort((a, b) => a - b);
  if (multi.length === 0 && seeds.length > 1) seeds.splice(1);
  for (const p of multi) {
    const own = p.trials.map((t) => t.seed).sort((a, b) => a - b);
    if (own.length !== seeds.length || own.some((s, i) => s !== seeds[i]))
      throw new Unresolved(
        `${p.name} ran with seeds ${own.join(", ")}, others with ${seeds.join(", ")}`,
      );
  }
  const strata = new Strata();
  const series: Series[] = plans.map((p) => {
    const slots = seeds.map((seed) => {
      const t = p.trials.length === 1 ? p.trials[0] : p.trials.find((x) => x.seed === seed)!;
      const own = (byKey.get(t.key) ?? [])
        .filter(
          (r) =>
            r.task === p.task &&
            (r.split === "held-out") === p.heldOut &&
            (p.languages === undefined || p.languages.includes(r.language)),
        )
        .sort((a, b) => LANGS.indexOf(a.language) - LANGS.indexOf(b.language));
      if (own.length === 0 && p.languages !== undefined)
        throw new Unresolved(
          `${p.name} was not evaluated on ${p.languages.join(", ")} (the profile's languages differ)`,
        );
      if (own.length === 0 && p.heldOut)
        throw new Unresolved(
          `no held-out evaluation of ${p.name}: give a held-out dataset (--eval-data DIR, or the profile's evalData) and rerun: ${rerun}`,
        );
      if (own.length === 0)
        throw new Unresolved(
          `per-example data missing: the results of ${p.name} were stored without per-example CE terms; rerun the sweep: ${rerun} --force`,
        );
      return own.map((r) => ({ stratum: strata.at(r), nll: r.nll, tokens: r.tokens }));
    });
    return { seeds: slots };
  });
  // Every trial of a task must cover the same strata (languages).
  const covered = new Map<string, string>();
  series.forEach((s, k) => {
    const source = `${plans[k].task}/${plans[k].heldOut}`;
    for (const slot of s.seeds) {
      const used = slot.map((t) => t.stratum).join(",");
      const first = covered.get(source) ?? used;
      covered.set(source, first);
      if (used !== first)
        throw new Unresolved("the settings compared were evaluated on different languages");
    }
  });
  return {
    strata: strata.sizes,
    seeds: seeds.length,
    series,
    examples: strata.sizes.reduce((a, x) => a + x, 0),
  };
}

/** Candidate values of a swept setting among a slice's trials, in the report's setting order. */
function candidates(
  ctx: Context,
  slice: Slice,
  setting: string,
): { value: SettingValue; trials: TrialRow[] }[] {
  const trials = sliceTrials(ctx, slice);
  const labels = settingOrder(trials);
  const byValue = new Map<string, { value: SettingValue; trials: TrialRow[]; rank: number }>();
  for (const t of trials) {
    const v = t.settings[setting];
    if (v === undefined) continue;
    const k = JSON.stringify(v);
    if (!byValue.has(k)) byValue.set(k, { value: v, trials: [], rank: labels.indexOf(t.label) });
    byValue.get(k)!.trials.push(t);
  }
  return [...byValue.values()].sort((a, b) => a.rank - b.rank);
}

/** What a judged claim adds to its identity. */
type Judged = Omit<ClaimResult, "experiment" | "id" | "kind" | "text" | "source" | "figure">;

function methodText(
  m: { method: "exact" | "monte-carlo"; resamples: number },
  seed: number,
): string {
  return m.method === "exact"
    ? `paired bootstrap, all ${m.resamples} distinct resamples enumerated (exact)`
    : `paired bootstrap, ${m.resamples} seeded resamples (seed ${seed})`;
}

/** Pairwise CE differences d[r][s] = CE(r) - CE(s) of `k` series starting at `offset`. */
function pairs(ce: readonly number[], offset: number, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < k; r++) for (let s = 0; s < k; s++) out.push(ce[offset + r] - ce[offset + s]);
  return out;
}

/** The setting resolved best among k (every other's difference to it above zero), or -1. */
function resolvedBest(d: readonly Interval[], k: number): number {
  for (let s = 0; s < k; s++) {
    let all = true;
    for (let r = 0; r < k; r++) if (r !== s && !(d[r * k + s].lo > 0)) all = false;
    if (all) return s;
  }
  return -1;
}

/** The lowest-CE setting, and its closest rival of `s` (smallest CE(r) - CE(s), r != s). */
function closest(d: readonly Interval[], k: number, s: number): number {
  let best = -1;
  for (let r = 0; r < k; r++)
    if (r !== s && (best < 0 || d[r * k + s].estimate < d[best * k + s].estimate)) best = r;
  return best;
}

function judgeBest(ctx: Context, c: Extract<Claim, { kind: "best" }>, seed: number): Judged {
  const cands = candidates(ctx, { task: c.task, where: c.where, heldOut: false }, c.setting);
  const k = cands.length;
  const s = cands.findIndex((x) => x.value === c.study);
  const names = cands.map((x) => valueText(x.value));
  const study = { value: c.study, text: `${valueText(c.study)} lowest` };
  const effect = `CE of the closest other setting minus CE of ${valueText(c.study)} (nats; positive: the study's choice is lower)`;
  if (s < 0 || k < 2)
    throw new Unresolved(`${valueText(c.study)} and at least one other setting must have trials`);
  const input = seriesInput(
    ctx,
    cands.map((x, i) => ({
      name: `${c.setting} ${names[i]}`,
      task: c.task,
      heldOut: false,
      trials: x.trials,
    })),
  );
  const b = bootstrap(input, (ce) => [...ce, ...pairs(ce, 0, k)], { seed });
  const ce = b.intervals.slice(0, k);
  const d = b.intervals.slice(k);
  const lowest = ce.reduce((m, x, i) => (x.estimate < ce[m].estimate ? i : m), 0);
  const rival = closest(d, k, s);
  const rd = d[rival * k + s];
  const others = cands.map((_, r) => r).filter((r) => r !== s);
  const beaten = others.filter((r) => d[r * k + s].hi < 0);
  let verdict: Verdict;
  let reason: string;
  if (others.every((r) => d[r * k + s].lo > 0)) {
    verdict = "agrees";
    reason = `${names[s]} is lowest, and every other setting's CE is higher with a 95% interval above zero`;
  } else if (beaten.length > 0) {
    verdict = "disagrees";
    reason = `${beaten.map((r) => names[r]).join(", ")} ${beaten.length > 1 ? "are" : "is"} lower than ${names[s]}, with the 95% interval of the difference below zero`;
  } else {
    verdict = "not resolved";
    reason =
      lowest === s
        ? `${names[s]} is lowest, but the interval of its difference to ${names[rival]} holds zero`
        : `${names[lowest]} is lowest, but the interval of its difference to ${names[s]} holds zero`;
  }
  return {
    study,
    estimate: rd.estimate,
    interval: [rd.lo, rd.hi],
    effect,
    ours: `lowest: ${names[lowest]}; ${names[rival]} − ${names[s]}: ${fmtInterval(rd, "nats")}`,
    unit: "nats",
    n: { examples: input.examples, seeds: input.seeds },
    verdict,
    reason,
    method: methodText(b, seed),
    details: [
      ...ce.map((x, i) => ({ what: `CE ${names[i]}`, ...x, unit: "nats" as const })),
      ...others.map((r) => ({
        what: `CE ${names[r]} − CE ${names[s]}`,
        ...d[r * k + s],
        unit: "nats" as const,
      })),
    ],
  };
}

function judgeChange(ctx: Context, c: Extract<Claim, { kind: "change" }>, seed: number): Judged {
  const rel = typeof c.study === "string" ? null : c.study.treatment / c.study.baseline - 1;
  const sign = rel === null ? (c.study === "lower" ? -1 : 1) : Math.sign(rel);
  const study = {
    value: rel ?? (c.study as string),
    text:
      rel === null
        ? `${c.study === "lower" ? "lower" : "higher"} (direction only)`
        : `${pct(rel)} (${(c.study as { baseline: number }).baseline} → ${(c.study as { treatment: number }).treatment})`,
  };
  const effect = "relative change of CE, treatment / baseline − 1";
  const input = seriesInput(ctx, [
    {
      name: "the baseline",
      task: c.baseline.task,
      heldOut: c.baseline.heldOut,
      languages: c.baseline.languages,
      trials: sliceTrials(ctx, c.baseline),
    },
    {
      name: "the treatment",
      task: c.treatment.task,
      heldOut: c.treatment.heldOut,
      languages: c.treatment.languages,
      trials: sliceTrials(ctx, c.treatment),
    },
  ]);
  const b = bootstrap(input, ([base, treat]) => [base, treat, treat / base - 1, treat - base], {
    seed,
  });
  const [base, treat, change, diff] = b.intervals;
  const side = (x: number) => (x > 0 ? "higher" : "lower");
  let verdict: Verdict;
  let reason: string;
  if (change.lo > 0 || change.hi < 0) {
    const ours = change.lo > 0 ? 1 : -1;
    verdict = ours === sign ? "agrees" : "disagrees";
    reason = `the 95% interval of the change lies ${ours > 0 ? "above" : "below"} zero: CE is ${side(ours)}, the study reports ${side(sign)}`;
  } else {
    verdict = "not resolved";
    reason = "the 95% interval of the change holds zero";
  }
  if (rel !== null)
    reason += `; the study's ${pct(rel)} is ${rel >= change.lo && rel <= change.hi ? "inside" : "outside"} our interval`;
  return {
    study,
    estimate: change.estimate,
    interval: [change.lo, change.hi],
    effect,
    ours: `${fmtInterval(change, "relative")} (CE ${base.estimate.toFixed(3)} → ${treat.estimate.toFixed(3)})`,
    unit: "relative",
    n: { examples: input.examples, seeds: input.seeds },
    verdict,
    reason,
    method: methodText(b, seed),
    details: [
      { what: "CE baseline", ...base, unit: "nats" },
      { what: "CE treatment", ...treat, unit: "nats" },
      { what: "CE treatment − CE baseline", ...diff, unit: "nats" },
      { what: "relative change", ...change, unit: "relative" },
    ],
  };
}

function judgeTransfer(
  ctx: Context,
  c: Extract<Claim, { kind: "transfer" }>,
  seed: number,
): Judged {
  const from = candidates(ctx, c.from, c.setting);
  const to = candidates(ctx, c.to, c.setting);
  const names = from.map((x) => valueText(x.value));
  const study = {
    value: c.study,
    text: `the same setting best on both (the study's: ${valueText(c.study)})`,
  };
  const k = from.length;
  if (k < 2 || to.length !== k || from.some((x, i) => x.value !== to[i].value))
    throw new Unresolved(
      `the same settings (at least two) must have trials on ${TASK_NAMES[c.from.task]} and ${TASK_NAMES[c.to.task]}`,
    );
  const input = seriesInput(ctx, [
    ...from.map((x, i) => ({
      name: `${names[i]} (${TASK_NAMES[c.from.task]})`,
      task: c.from.task,
      heldOut: c.from.heldOut,
      languages: c.from.languages,
      trials: x.trials,
    })),
    ...to.map((x, i) => ({
      name: `${names[i]} (${TASK_NAMES[c.to.task]})`,
      task: c.to.task,
      heldOut: c.to.heldOut,
      languages: c.to.languages,
      trials: x.trials,
    })),
  ]);
  const b = bootstrap(input, (ce) => [...pairs(ce, 0, k), ...pairs(ce, k, k)], { seed });
  const dFrom = b.intervals.slice(0, k * k);
  const dTo = b.intervals.slice(k * k);
  const lowestOn = (d: readonly Interval[]) => {
    // The setting whose CE is below every other's: all of d[r][s] > 0 at the estimate.
    let best = 0;
    for (let s = 1; s < k; s++) if (d[s * k + best].estimate < 0) best = s;
    return best;
  };
  const a = lowestOn(dFrom);
  const bestFrom = resolvedBest(dFrom, k);
  const bestTo = resolvedBest(dTo, k);
  const rival = closest(dTo, k, a);
  const rd = dTo[rival * k + a];
  const fromName = TASK_NAMES[c.from.task];
  const toName = TASK_NAMES[c.to.task];
  let verdict: Verdict;
  let reason: string;
  const beaten =
    bestFrom >= 0
      ? [...Array(k).keys()].filter((r) => r !== bestFrom && dTo[r * k + bestFrom].hi < 0)
      : [];
  if (bestFrom >= 0 && bestFrom === bestTo) {
    verdict = "agrees";
    reason = `${names[bestFrom]} is lowest on both ${fromName} and ${toName}, beyond the noise against every other setting`;
  } else if (beaten.length > 0) {
    verdict = "disagrees";
    reason = `${names[bestFrom]} is lowest on ${fromName}, but ${beaten.map((r) => names[r]).join(", ")} is lower on ${toName} beyond the noise`;
  } else {
    verdict = "not resolved";
    reason =
      bestFrom < 0
        ? `no setting is lowest on ${fromName} beyond the noise`
        : `${names[bestFrom]} is lowest on ${fromName}, but not beyond the noise on ${toName}`;
  }
  return {
    study,
    estimate: rd.estimate,
    interval: [rd.lo, rd.hi],
    effect: `on ${toName}: CE of the closest other setting minus CE of the setting lowest on ${fromName} (nats)`,
    ours: `lowest on ${fromName}: ${names[a]}, on ${toName}: ${names[lowestOn(dTo)]}; ${names[rival]} − ${names[a]} on ${toName}: ${fmtInterval(rd, "nats")}`,
    unit: "nats",
    n: { examples: input.examples, seeds: input.seeds },
    verdict,
    reason,
    method: methodText(b, seed),
    details: [fromName, toName].flatMap((task, t) =>
      [...Array(k).keys()]
        .filter((r) => r !== a)
        .map((r) => ({
          what: `${task}: CE ${names[r]} − CE ${names[a]}`,
          ...(t === 0 ? dFrom : dTo)[r * k + a],
          unit: "nats" as const,
        })),
    ),
  };
}

/** The study's value of a claim, as shown when it cannot be judged. */
function studyOf(c: Claim): ClaimResult["study"] {
  if (c.kind === "change") {
    if (typeof c.study === "string") return { value: c.study, text: `${c.study} (direction only)` };
    const rel = c.study.treatment / c.study.baseline - 1;
    return { value: rel, text: `${pct(rel)} (${c.study.baseline} → ${c.study.treatment})` };
  }
  return {
    value: c.study,
    text:
      c.kind === "best"
        ? `${valueText(c.study)} lowest`
        : `the same setting best on both (the study's: ${valueText(c.study)})`,
  };
}

/** Judge one claim of an experiment. */
export function judgeClaim(ctx: Context, c: Claim, figure: string): ClaimResult {
  const head = {
    experiment: ctx.experiment,
    id: c.id,
    kind: c.kind,
    text: c.text,
    source: c.source,
    figure,
  };
  const seed = seedOf(`${ctx.experiment}/${c.id}`);
  try {
    const judged =
      c.kind === "best"
        ? judgeBest(ctx, c, seed)
        : c.kind === "change"
          ? judgeChange(ctx, c, seed)
          : judgeTransfer(ctx, c, seed);
    const finite = judged.interval?.every(Number.isFinite) ?? false;
    if (!finite)
      return {
        ...head,
        ...judged,
        verdict: "not resolved",
        reason: "the interval is not finite (a CE was not finite)",
      };
    return { ...head, ...judged };
  } catch (e) {
    if (!(e instanceof Unresolved)) throw e;
    return {
      ...head,
      study: studyOf(c),
      estimate: null,
      interval: null,
      effect: "",
      ours: "—",
      unit: c.kind === "change" ? "relative" : "nats",
      n: null,
      verdict: "not resolved",
      reason: e.message,
      method: null,
      details: [],
    };
  }
}

/** Every claim of every experiment in the report, in page order then definition order. */
export function reportClaims(
  input: ReportInput,
  figureOf: (name: ExperimentName) => string,
): ClaimResult[] {
  return EXPERIMENTS.flatMap((experiment) => {
    const results = input.experiments[experiment];
    const claims = results?.definition?.claims ?? [];
    if (!results) return [];
    const ctx: Context = {
      experiment,
      profile: input.profile,
      results,
      baseModel: typeof results.profile?.baseModel === "string" ? results.profile.baseModel : null,
    };
    return claims.map((c) => judgeClaim(ctx, c, figureOf(experiment)));
  });
}

/** Verdict counts. */
export function verdictCounts(claims: readonly ClaimResult[]): Record<Verdict, number> {
  const out: Record<Verdict, number> = { agrees: 0, disagrees: 0, "not resolved": 0 };
  for (const c of claims) out[c.verdict]++;
  return out;
}

/** A number rounded to 6 decimals (so claims.json does not carry float noise). */
function round6(x: number): number {
  const r = Math.round(x * 1e6) / 1e6;
  return Object.is(r, -0) ? 0 : r;
}

/** claims.json: one record per claim, fixed rounding (the caller writes it with sorted keys). */
export function claimsRecord(profile: string, claims: readonly ClaimResult[]): unknown {
  return {
    profile,
    method: {
      interval: `paired bootstrap percentile interval, level ${LEVEL}`,
      resampling:
        "examples with replacement within each task and language, and seeds with replacement when there are several; the same resamples for every setting compared",
      exactUpTo: EXACT_LIMIT,
      replicates: REPLICATES,
    },
    claims: claims.map((c) => ({
      experiment: c.experiment,
      id: c.id,
      kind: c.kind,
      text: c.text,
      source: c.source,
      figure: c.figure,
      study: typeof c.study.value === "number" ? round6(c.study.value) : c.study.value,
      studyText: c.study.text,
      effect: c.effect,
      estimate: c.estimate === null ? null : round6(c.estimate),
      interval: c.interval ? c.interval.map(round6) : null,
      n: c.n,
      verdict: c.verdict,
      reason: c.reason,
      method: c.method,
      details: c.details.map((d) => ({
        what: d.what,
        unit: d.unit,
        estimate: round6(d.estimate),
        interval: [round6(d.lo), round6(d.hi)],
      })),
    })),
  };
}
