/**
 * The notebooks' Jupyter kernel: tslab, compiling cells with the project's TypeScript
 * (tslab_typescript.ts) instead of its bundled fork, so that a cell can `import` the library from
 * "../src" with the same types `npm run typecheck` checks. The kernelspec in
 * notebooks/jupyter/kernels/tslab starts it through start-kernel.js there (not kernel.js: that name
 * is the Notebook's for a kernel's browser-side script), which loads tsx first: the library's .ts
 * files are then loaded by Node itself, as the CLI loads them.
 *
 * It also completes tslab's side of the Jupyter protocol where tslab leaves it short: a failing
 * cell's type errors or exception go out as a Jupyter error (name, value, traceback) in the
 * execute reply and as an error output, instead of as text on stderr with a bare "error" status,
 * so front ends and nbconvert show what failed; a cell's last expression is its execute_result
 * (Out[n]) rather than a line on stdout; kernel_info replies carry their status.
 */
import Module from "node:module";
import * as path from "node:path";
import { format } from "node:util";
import { cellErrorText } from "./runner";
import { typescriptForTslab } from "./tslab_typescript";

/** The module id through which tslab loads its compiler. */
const TSLAB_TYPESCRIPT = "@tslab/typescript-for-tslab";

/** Make tslab's `require(TSLAB_TYPESCRIPT)` return the project's compiler (tslab_typescript.ts). */
export function installTypescriptForTslab(): void {
  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  const file = require.resolve(TSLAB_TYPESCRIPT, { paths: [tslabDir] });
  const mod = new Module(file);
  mod.filename = file;
  mod.loaded = true;
  mod.exports = typescriptForTslab();
  require.cache[file] = mod;
}

/** A Jupyter error: what an error output and a failed execute reply carry. */
export interface JupyterError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/**
 * The error of a failed cell from what tslab's executor reported for it: the type errors it
 * printed (one "line:col - message" line each), or the exception it caught (stack frames inside
 * tslab and Node dropped, as runner.cellErrorText does for headless runs).
 */
export function jupyterError(reports: readonly unknown[][]): JupyterError {
  const thrown = reports.find((args) => args.length === 1 && args[0] instanceof Error)?.[0];
  if (thrown instanceof Error) {
    const stack = cellErrorText(thrown.stack ?? String(thrown)).split("\n");
    return { ename: thrown.name, evalue: thrown.message, traceback: stack };
  }
  const lines = reports.map((args) => format(...args)).filter((line) => line.trim() !== "");
  if (lines.length === 0)
    return { ename: "Error", evalue: "the cell failed", traceback: ["Error: the cell failed"] };
  // tslab prints a type error as "line:col - message" (a file name first when it is elsewhere).
  const typeErrors = lines.every((line) => /^(\S+ )?\d+:\d+ - /.test(line));
  return { ename: typeErrors ? "TSError" : "Error", evalue: lines.join("\n"), traceback: lines };
}

/** What the kernel needs of tslab's message objects. */
interface Reply {
  header: { msg_type: string };
  content: unknown;
  signAndSend(key: string, socket: unknown): void;
}
interface Message {
  content: unknown;
  createReply(): Reply;
}
type WriteStream = (name: string, text: string) => void;
type WriteDisplayData = (data: unknown, update: boolean) => void;
interface Handler {
  handleKernel(): Record<string, unknown>;
  handleExecute(
    request: unknown,
    writeStream: WriteStream,
    writeDisplayData: WriteDisplayData,
  ): Promise<{ status: string } & Record<string, unknown>>;
}
interface Server {
  handler: Handler;
  connInfo: { key: string };
  iopub: unknown;
  init(): Promise<void>;
}
interface TslabJupyter {
  ZmqServer: new (handler: Handler, configPath: string) => Server;
  JupyterHandlerImpl: new (executor: unknown, isJs: boolean) => Handler;
}
interface Converter {
  close(): void;
}

/** tslab's executor's own reports (type errors, the caught exception) of the running cell. */
let reports: unknown[][] = [];
/** The value of the running cell's last expression, as tslab's executor logs it (else null). */
let lastValue: unknown[] | null = null;

/**
 * Replace tslab's execute handling by the same steps plus the error (see the header); the
 * kernel_info reply gets its status and the compiler's version.
 */
function completeProtocol(jupyter: TslabJupyter, typescriptVersion: string): void {
  const handlerProto = jupyter.JupyterHandlerImpl.prototype as Handler;
  const handleKernel = handlerProto.handleKernel;
  handlerProto.handleKernel = function (this: Handler) {
    const reply = handleKernel.call(this);
    const info = reply.language_info as Record<string, unknown>;
    return { status: "ok", ...reply, language_info: { ...info, version: typescriptVersion } };
  };
  const serverProto = jupyter.ZmqServer.prototype as Server & {
    handleExecute(socket: unknown, msg: Message): Promise<void>;
  };
  serverProto.handleExecute = async function (this: Server, socket: unknown, msg: Message) {
    const send = (type: string, content: unknown, target: unknown) => {
      const reply = msg.createReply();
      reply.header.msg_type = type;
      reply.content = content;
      reply.signAndSend(this.connInfo.key, target);
    };
    reports = [];
    lastValue = null;
    const content = await this.handler.handleExecute(
      msg.content,
      (name, text) => send("stream", { name, text }, this.iopub),
      (data, update) => send(update ? "update_display_data" : "display_data", data, this.iopub),
    );
    if (content.status === "error") {
      const error = jupyterError(reports);
      send("error", error, this.iopub);
      Object.assign(content, error);
    } else if (reports.length) {
      // Reported without failing the cell (a module cell's type errors): shown as tslab shows them.
      const text = reports.map((args) => format(...args)).join("\n");
      send("stream", { name: "stderr", text: `${text}\n` }, this.iopub);
    }
    const value = lastValue as unknown[] | null; // set by the executor while the cell ran
    if (content.status === "ok" && value) {
      // The cell's value as Out[n] (tslab prints it on stdout, where it reads as a log line).
      const data = { "text/plain": format(...value) };
      send(
        "execute_result",
        { execution_count: content.execution_count, data, metadata: {} },
        this.iopub,
      );
    }
    if (content.status === "abort") content.status = "aborted"; // the protocol's word
    send("execute_reply", content, socket);
  };
}

/** `--config-path FILE`, as Jupyter runs the kernelspec's argv: what tslab's startKernel does. */
export function startKernel(argv: readonly string[]): void {
  const at = argv.indexOf("--config-path");
  const configPath = at >= 0 ? argv[at + 1] : undefined;
  if (!configPath) throw new Error("usage: start-kernel.js --config-path CONNECTION_FILE");
  installTypescriptForTslab();
  const { createConverter } = require("tslab/dist/converter") as {
    createConverter(options: { isJS: boolean; isBrowser: boolean }): Converter;
  };
  const { createExecutor } = require("tslab/dist/executor") as {
    createExecutor(
      rootDir: string,
      converters: { node: Converter; browser: Converter; close(): void },
      console: { log: (...args: unknown[]) => void; error: (...args: unknown[]) => void },
    ): { interrupt(): void };
  };
  const jupyter = require("tslab/dist/jupyter") as TslabJupyter;
  completeProtocol(jupyter, (require("typescript") as { version: string }).version);

  // Converters as tslab makes them: the browser one only when a cell asks for it.
  let node: Converter | undefined;
  let browser: Converter | undefined;
  const converters = {
    get node() {
      return (node ??= createConverter({ isJS: false, isBrowser: false }));
    },
    get browser() {
      return (browser ??= createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
  void converters.node; // compile the first cell sooner
  const executor = createExecutor(process.cwd(), converters, {
    log: (...args) => (lastValue = args), // tslab logs only the last expression's value

    error: (...args) => reports.push(args),
  });
  const server = new jupyter.ZmqServer(new jupyter.JupyterHandlerImpl(executor, false), configPath);
  process.on("SIGINT", () => executor.interrupt());
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  void server.init();
}
