/**
 * `npm run notebooks [-- <notebook>... --profile P]`: execute notebooks headless to HTML with
 * progress; exits 1 if any notebook fails, after printing each failing cell's error.
 * Run directly: node --import tsx src/notebooks/cli.ts [notebook...] [options]
 */
import type { Command } from "../cli/args";
import { numberOpt, parse, UsageError } from "../cli/args";
import { formatDuration } from "../train/progress";
import type { NotebookProgress } from "./runner";
import { fromRoot } from "../util/root";
import { listNotebooks, resolveNotebook, resolveProfile, runNotebooks } from "./runner";

const USAGE = `usage: notebooks [notebook...] [--profile P] [--out DIR] [--cell-timeout S]

Executes notebooks (default: every notebooks/*.ipynb) on the tslab kernel and writes
reports/<profile>/notebooks/<name>.html. A notebook is a path or a name ("data").
  --profile P        NARRATOR_PROFILE for the notebooks (default: $NARRATOR_PROFILE, else mini)
  --out DIR          where the HTML goes (default: reports/<profile>/notebooks)
  --cell-timeout S   stop a cell after S whole seconds (default: no limit)`;

/** Seconds as "3.2s" under a minute, else as formatDuration writes them. */
function seconds(s: number): string {
  return s < 60 ? `${s.toFixed(1)}s` : formatDuration(s);
}

/** One progress line per event (cells indented under their notebook). */
export function formatProgress(event: NotebookProgress): string {
  switch (event.kind) {
    case "notebook":
      return `[${event.position}/${event.total}] ${fromRoot(event.notebook)}`;
    case "cell":
      return `    cell ${event.cell}/${event.cells} (${seconds(event.seconds)})`;
    case "done":
      return `    ok in ${seconds(event.seconds)} -> ${fromRoot(event.html)}`;
    case "failed":
      return `    FAILED: ${event.error.message.split("\n")[0]}`;
  }
}

/** The notebooks command: parse, run, print progress and every failure in full. */
export const notebooksCommand: Command = {
  summary: "execute notebooks headless to HTML (tslab kernel, nbconvert)",
  usage: USAGE,
  options: {
    profile: { type: "string" },
    out: { type: "string" },
    "cell-timeout": { type: "string" },
  },
  async run(values, positionals) {
    const cellTimeoutS = numberOpt(values, "cell-timeout", 0, { integer: true, min: 0 });
    const files = positionals.length ? positionals.map(resolveNotebook) : listNotebooks();
    if (files.length === 0) throw new UsageError(`no notebooks found\n\n${USAGE}`);
    const profile = resolveProfile(values.profile as string | undefined);
    console.log(`notebooks: ${files.length}, profile ${profile}`);
    const { done, failed } = await runNotebooks(files, {
      profile,
      outDir: values.out as string | undefined,
      cellTimeoutS: cellTimeoutS || undefined,
      onProgress: (event) => console.log(formatProgress(event)),
    });
    for (const f of failed) console.error(`\n${f.error.message}`);
    console.log(`\n${done.length} of ${files.length} notebooks executed`);
    if (failed.length) process.exitCode = 1;
  },
};

if (require.main === module) {
  const { values, positionals } = parse(notebooksCommand, process.argv.slice(2));
  if (values.help) console.log(USAGE);
  else
    notebooksCommand.run(values, positionals).catch((e: Error) => {
      console.error(e instanceof UsageError ? e.message : e);
      process.exitCode = 1;
    });
}
