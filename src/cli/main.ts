/**
 * The `narrator` command line: `narrator <command> [options]`; `narrator --help` lists commands,
 * `narrator <command> --help` explains one. Errors are one line on stderr and exit code 1
 * (set NARRATOR_DEBUG=1 for stack traces).
 */
import { parse, UsageError, type Command } from "./args";
import { generateCmd, quantize, randomModel, score } from "./model_commands";
import { evalCmd, train } from "./train_commands";
import { download, mine, prepare, stats } from "./data_commands";
import { CORPUS_COMMANDS } from "./corpus_commands";
import { pretrain } from "./pretrain_commands";
import { REPORT_COMMANDS } from "./report_commands";
import { digest, explain } from "./narrate_commands";
import { RUNS_COMMANDS, sweep } from "./sweep_commands";
import { reproduce } from "./reproduce_commands";
import { describeSystemError, isSystemError } from "../util/fs";
import { heapExhaustionLine } from "../native/wasm_heap";

const COMMANDS: Record<string, Command> = {
  score,
  generate: generateCmd,
  quantize,
  train,
  eval: evalCmd,
  pretrain,
  sweep,
  reproduce,
  explain,
  digest,
};

/** Commands in groups: `narrator data stats`, `narrator corpus build`, ... */
const GROUPS: Record<string, Record<string, Command>> = {
  data: { stats, prepare, download, mine },
  corpus: CORPUS_COMMANDS,
  report: REPORT_COMMANDS,
  runs: RUNS_COMMANDS,
  model: { random: randomModel },
};

function listing(entries: [string, { summary: string }][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`).join("\n");
}

function help(): string {
  const entries: [string, { summary: string }][] = [
    ...Object.entries(COMMANDS),
    ...Object.entries(GROUPS).flatMap(([g, cmds]) =>
      Object.entries(cmds).map(([k, c]): [string, Command] => [`${g} ${k}`, c]),
    ),
  ];
  return `usage: narrator <command> [options]

commands:
${listing(entries)}

Run 'narrator <command> --help' for a command's options.
Environment: NARRATOR_BACKEND (wasm|cpu|tensorflow|webgpu), NARRATOR_DATA (data directory; default data/, or ../shared/data beside the checkout while data/ holds no dataset),
NARRATOR_RUNS (folder of the run stores, default runs/),
NARRATOR_NATIVE=0 (plain wasm kernels), NARRATOR_DEBUG=1 (stack traces).`;
}

async function runCommand(cmd: Command, argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(cmd.usage + "\n");
    return;
  }
  const { values, positionals } = parse(cmd, argv);
  await cmd.run(values, positionals);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help() + "\n");
    return 0;
  }
  const group = GROUPS[name];
  const cmd = group ? group[rest[0] ?? ""] : COMMANDS[name];
  if (!cmd) {
    const what = group ? `${name} ${rest[0] ?? "(missing subcommand)"}` : name;
    process.stderr.write(`narrator: unknown command '${what}'\n\n${help()}\n`);
    return 2;
  }
  await runCommand(cmd, group ? rest.slice(1) : rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = e as Error;
    if (process.env.NARRATOR_DEBUG && !(err instanceof UsageError)) {
      process.stderr.write(`${err.stack}\n`);
    }
    // A system error that no caller wrapped still gets its operation, path and code on one line.
    const message = isSystemError(err)
      ? describeSystemError(err)
      : (heapExhaustionLine(err) ?? err.message);
    process.stderr.write(`narrator: ${message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
