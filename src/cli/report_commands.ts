/** `narrator report build | check`: a profile's HTML reports, and their checks. */
import * as path from "node:path";
import { PROJECT_ROOT } from "../experiments/definition";
import { DEFAULT_PROFILE } from "../experiments/profile";
import { buildReports } from "../report/build";
import { checkReports } from "../report/check";
import type { Command } from "./args";

const build: Command = {
  summary:
    "write a profile's self-contained HTML reports (every figure and table) to reports/<profile>/",
  usage: `usage: narrator report build [--profile P] [--store DIR] [--out DIR] [--data DIR]
       [--eval-data DIR] [--no-png]

Loads every experiment's results from the run store (default runs/<profile>) and the data funnel at
the profile's sizes (--data, else NARRATOR_DATA, else data/ or ../shared/data), then writes <out>/<profile>/ (default
reports/): index.html, one page per experiment, data.html, and figures/<id>.svg (and .png with
rsvg-convert, unless --no-png), claims.html and claims.json (the study's claims judged on the
results). --eval-data names the held-out dataset the sweeps evaluated (default the profile's
evalData), so that its rows join Table 1, Figure 7 and the claims. Experiments without results
get pages that say so.`,
  options: {
    profile: { type: "string" },
    store: { type: "string" },
    out: { type: "string" },
    data: { type: "string" },
    "eval-data": { type: "string" },
    "no-png": { type: "boolean" },
  },
  async run(v) {
    const { dir } = await buildReports({
      evalData: v["eval-data"] as string | undefined,
      profile: (v.profile as string | undefined) ?? DEFAULT_PROFILE,
      store: v.store as string | undefined,
      out: v.out as string | undefined,
      data: v.data as string | undefined,
      png: v["no-png"] !== true,
      log: (line) => process.stderr.write(line + "\n"),
    });
    process.stdout.write(`reports: ${path.join(dir, "index.html")}\n`);
  },
};

const check: Command = {
  summary:
    "check a report folder: every figure present, no external URL, each page renders in Chromium",
  usage: `usage: narrator report check [DIR | --profile P] [--no-browser]

Checks DIR (default reports/<profile>/): every page and each of its figures is there, no attribute
or style loads an external URL, and (unless --no-browser) each page renders in headless Chromium
with every chart embedded; screenshots go to DIR/screenshots/. Exit code 1 when a check fails.`,
  options: {
    profile: { type: "string" },
    "no-browser": { type: "boolean" },
  },
  takesArguments: true,
  async run(v, positionals) {
    const dir =
      positionals[0] ??
      path.join(PROJECT_ROOT, "reports", (v.profile as string | undefined) ?? DEFAULT_PROFILE);
    const { problems, screenshots } = checkReports(dir, { browser: v["no-browser"] !== true });
    for (const s of screenshots) process.stdout.write(`screenshot: ${s}\n`);
    for (const p of problems) process.stdout.write(`problem: ${p}\n`);
    if (problems.length) throw new Error(`${problems.length} problems in ${dir}`);
    process.stdout.write(`ok: ${dir}\n`);
  },
};

/** The `report` command group. */
export const REPORT_COMMANDS: Record<string, Command> = { build, check };
