/**
 * The `narrator` command line: `narrator <command> [options]`; `narrator --help` lists commands,
 * `narrator <command> --help` explains one. Errors are one line on stderr and exit code 1
 * (set NARRATOR_DEBUG=1 for stack traces).
 */
import { parse, UsageError, type Command } from "./args";
import { generateCmd, quantize, score } from "./model_commands";

const COMMANDS: Record<string, Command> = {
  score,
  generate: generateCmd,
  quantize,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
  return `usage: narrator <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'narrator <command> --help' for a command's options.
Environment: NARRATOR_BACKEND (wasm|cpu|tensorflow|webgpu), NARRATOR_DATA (data directory).`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help() + "\n");
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`narrator: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const { values, positionals } = parse(cmd, rest);
  if (values.help) {
    process.stdout.write(cmd.usage + "\n");
    return 0;
  }
  await cmd.run(values, positionals);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = e as Error;
    if (process.env.NARRATOR_DEBUG && !(err instanceof UsageError))
      process.stderr.write(`${err.stack}\n`);
    process.stderr.write(`narrator: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
