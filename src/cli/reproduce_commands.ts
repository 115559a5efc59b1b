/**
 * `narrator reproduce`: the whole study for one profile in one command: the data funnel at the
 * profile's sizes (which also fails early, naming the file, when the data is missing or bad),
 * every experiment's sweep against the run store, then every report. Each stage is the command a
 * person would run by hand, so reproduce adds no second way of doing any of them.
 */
import * as path from "node:path";
import { PROJECT_ROOT } from "../experiments/paths";
import { DEFAULT_PROFILE, loadProfile } from "../experiments/profile";
import { formatDuration } from "../train/progress";
import type { Command, Options } from "./args";
import { stats } from "./data_commands";
import { REPORT_COMMANDS } from "./report_commands";
import { sweep } from "./sweep_commands";

/** The sweep options reproduce passes on (every report build option is passed on too). */
const SWEEP_OPTIONS = ["profile", "workers", "store", "data", "eval-data"] as const;

/** The named options of a command's table. */
function pickOptions(options: Options, names: readonly string[]): Options {
  return Object.fromEntries(names.map((n) => [n, options[n]]));
}

export const reproduce: Command = {
  summary: "the whole study for a profile: data funnel, every sweep, every report",
  usage: `usage: narrator reproduce [--profile smoke|mini|paper] [--workers N] [--store DIR] [--out DIR]
       [--data DIR] [--eval-data DIR] [--no-png]

Runs, for the profile (experiments/profiles/<profile>.json, default ${DEFAULT_PROFILE}):
  1. narrator data stats at the profile's languages and sizes (the preparation funnel);
  2. narrator sweep all (finished trials are kept: an interrupted reproduce resumes);
  3. narrator report build (reports/<profile>/index.html, one page per experiment, the claims).
--eval-data DIR (else the profile's evalData): a held-out dataset (e.g. mined by 'narrator data
mine' from repositories outside the training data) evaluated beside the test split; its rows
join Table 1, Figure 7 and the claims.
Progress goes to stderr. Trials that failed are shown as failed in the reports, and the exit
code is 1. Check the pages afterwards with 'narrator report check --profile P'.`,
  options: { ...pickOptions(sweep.options, SWEEP_OPTIONS), ...REPORT_COMMANDS.build.options },
  async run(v) {
    const profileName = typeof v.profile === "string" ? v.profile : DEFAULT_PROFILE;
    const profile = loadProfile(profileName);
    const started = Date.now();
    const stage = (i: number, what: string) =>
      process.stderr.write(`\n== reproduce ${profileName} ${i}/3: ${what}\n`);
    const pick = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, v[n]]));

    stage(1, "data funnel");
    const { train, val, test } = profile.sizes;
    await stats.run(
      {
        data: v.data,
        languages: profile.languages.join(","),
        "per-language": `${train},${val},${test}`,
      },
      [],
    );

    stage(2, "every experiment's sweep");
    await sweep.run(pick(SWEEP_OPTIONS), ["all"]);
    const sweepFailed = process.exitCode === 1;

    stage(3, "reports");
    await REPORT_COMMANDS.build.run(pick(Object.keys(REPORT_COMMANDS.build.options)), []);
    const out = typeof v.out === "string" ? v.out : path.join(PROJECT_ROOT, "reports");
    process.stderr.write(
      `\nreproduce ${profileName} done in ${formatDuration((Date.now() - started) / 1000)}` +
        `${sweepFailed ? " (some trials failed: see the reports and 'narrator runs list')" : ""}\n` +
        `open ${path.join(out, profileName, "index.html")}\n`,
    );
  },
};
