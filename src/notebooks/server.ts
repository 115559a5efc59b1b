/**
 * `npm run notebook-server [-- --port P --profile P --data DIR]`: the notebooks in a browser.
 * Starts Debian's classic Jupyter Notebook server on 127.0.0.1 over notebooks/, with the
 * repository's tslab kernel (notebooks/jupyter), the narrator-vega extension that draws figures
 * with vega-embed (its vega bundles copied from node_modules: nothing is fetched from the
 * network), NARRATOR_PROFILE and NARRATOR_DATA for the kernels, and prints the URL with its token.
 * Ctrl-C shuts the kernels and the server down.
 * Run directly: node --import tsx src/notebooks/server.ts [options]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Command } from "../cli/args";
import { numberOpt, parse, UsageError } from "../cli/args";
import { resolveDataDir } from "../data/sources";
import { packageDir, packageVersion } from "../util/packages";
import { PROJECT_ROOT } from "../util/root";
import { JUPYTER_DIR, NOTEBOOKS_DIR, notebookEnv, resolveProfile } from "./runner";

/** The notebook extension in notebooks/jupyter/nbextensions that draws Vega-Lite outputs. */
export const NBEXTENSION = "narrator-vega";
/** Generated Jupyter data (the extension's vega bundles); .cache/ is not in git. */
export const GENERATED_JUPYTER_DIR = path.join(PROJECT_ROOT, ".cache", "jupyter");
const HOST = "127.0.0.1";
const DEFAULT_PORT = 8888;

/** The browser bundles the extension loads, under the module names it asks for. */
const BUNDLES = [
  ["vega", "build/vega.min.js", "vega.js"],
  ["vega-lite", "build/vega-lite.min.js", "vega-lite.js"],
  ["vega-embed", "build/vega-embed.min.js", "vega-embed.js"],
] as const;

/**
 * Copy the vega, vega-lite and vega-embed bundles from node_modules to where the notebook server
 * serves the extension's files (<dir>/nbextensions/narrator-vega); only files that changed are
 * written. Returns that folder.
 */
export function writeVegaBundles(dir: string = GENERATED_JUPYTER_DIR): string {
  const out = path.join(dir, "nbextensions", NBEXTENSION);
  fs.mkdirSync(out, { recursive: true });
  for (const [pkg, file, name] of BUNDLES) {
    const code = `/* ${pkg} ${packageVersion(pkg)} */\n${fs.readFileSync(path.join(packageDir(pkg), file), "utf8")}`;
    const target = path.join(out, name);
    if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== code)
      fs.writeFileSync(target, code);
  }
  return out;
}

/**
 * The server's environment: the kernels' (runner.notebookEnv: kernelspec, tslab, profile), the
 * generated bundles beside the kernelspec on JUPYTER_PATH, the extension enabled through
 * notebooks/jupyter/nbconfig on JUPYTER_CONFIG_PATH, and the data directory as an absolute path
 * (kernels run in the notebook's folder).
 */
export function serverEnv(
  options: { profile: string; dataDir?: string; jupyterDataDir?: string },
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env = notebookEnv(options.profile, base);
  const list = (...dirs: (string | undefined)[]) => dirs.filter(Boolean).join(path.delimiter);
  env.JUPYTER_PATH = list(
    JUPYTER_DIR,
    options.jupyterDataDir ?? GENERATED_JUPYTER_DIR,
    base.JUPYTER_PATH,
  );
  env.JUPYTER_CONFIG_PATH = list(JUPYTER_DIR, base.JUPYTER_CONFIG_PATH);
  const data = options.dataDir ?? base.NARRATOR_DATA;
  if (data) env.NARRATOR_DATA = path.resolve(data);
  return env;
}

/** Whether `port` on the loopback address is free to listen on. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A port on the loopback address that nothing listens on (the system picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Options of startNotebookServer. */
export interface NotebookServerOptions {
  /** Port on 127.0.0.1; default 8888 when free, else one the system picks. */
  port?: number;
  /** Access token; default a random one. */
  token?: string;
  /** NARRATOR_PROFILE for the kernels; default the environment's, else mini. */
  profile?: string;
  /** NARRATOR_DATA for the kernels; default the environment's (else the library's default). */
  dataDir?: string;
  /** The folder the server shows; default notebooks/. */
  notebookDir?: string;
  /** Environment the server and its kernels start from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the server's log lines go; default nowhere. */
  log?: (line: string) => void;
  /** How long to wait for the server to answer; default 60 s. */
  startTimeoutMs?: number;
}

/** A running notebook server. */
export interface NotebookServer {
  /** http://127.0.0.1:<port>/ */
  baseUrl: string;
  /** The file browser's URL with the token: what a person opens. */
  url: string;
  port: number;
  token: string;
  notebookDir: string;
  profile: string;
  child: ChildProcess;
  /** Resolves with the server's exit code once it has exited. */
  exited: Promise<number | null>;
  /** A call to the server's REST API (token attached). */
  api(method: string, route: string): Promise<Response>;
  /** Shut down the kernels, then the server; kills what does not stop. Safe to call twice. */
  stop(): Promise<void>;
}

/** Whether Debian's classic Jupyter Notebook server is installed. */
export function hasNotebookServer(env: NodeJS.ProcessEnv = process.env): boolean {
  return spawnSync("jupyter", ["notebook", "--version"], { env, stdio: "ignore" }).status === 0;
}

/** Processes whose command line mentions `text` (the kernels of one server's runtime folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(+entry);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Start `jupyter notebook` (see the header) and wait until it answers. The server runs in its
 * own process group with its own runtime folder, so that stop() finds everything it started.
 */
export async function startNotebookServer(
  options: NotebookServerOptions = {},
): Promise<NotebookServer> {
  const base = options.env ?? process.env;
  const profile = resolveProfile(options.profile, base);
  const port = options.port ?? ((await portFree(DEFAULT_PORT)) ? DEFAULT_PORT : await freePort());
  const token = options.token ?? randomBytes(24).toString("hex");
  const notebookDir = path.resolve(options.notebookDir ?? NOTEBOOKS_DIR);
  writeVegaBundles();
  // Kernel connection files go here: their paths mark the kernels as this server's.
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-jupyter-"));
  const env = {
    ...serverEnv({ profile, dataDir: options.dataDir }, base),
    JUPYTER_RUNTIME_DIR: runtimeDir,
    // In the environment rather than on the command line, where other users' `ps` would see it.
    JUPYTER_TOKEN: token,
  };
  const args = [
    "notebook",
    "--no-browser",
    `--ip=${HOST}`,
    `--port=${port}`,
    "--port-retries=0",
    `--notebook-dir=${notebookDir}`,
    ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
  ];
  const child = spawn("jupyter", args, {
    env,
    cwd: notebookDir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const recent: string[] = [];
  const onLine = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      recent.push(line);
      if (recent.length > 40) recent.shift();
      options.log?.(line);
    }
  };
  child.stdout!.on("data", onLine);
  child.stderr!.on("data", onLine);
  const exited = new Promise<number | null>((resolve) => {
    child.on("error", (e) => {
      recent.push(`cannot start jupyter: ${e.message}`);
      resolve(null);
    });
    child.on("exit", (code) => resolve(code));
  });
  let done = false;
  void exited.then(() => (done = true));

  const baseUrl = `http://${HOST}:${port}/`;
  const api = (method: string, route: string) =>
    fetch(new URL(route.replace(/^\//, ""), baseUrl), {
      method,
      headers: { Authorization: `token ${token}` },
    });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // Kernels first, through the server, which waits for them to exit.
      if (!done) {
        try {
          const kernels = (await (await api("GET", "api/kernels")).json()) as { id: string }[];
          await Promise.all(kernels.map((k) => api("DELETE", `api/kernels/${k.id}`)));
        } catch {
          // the server is not answering: the signals below still stop it
        }
      }
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          // the group is gone
        }
      };
      if (child.pid !== undefined) {
        signal("SIGTERM");
        await Promise.race([exited, sleep(10_000)]);
        if (!done) signal("SIGKILL");
        await Promise.race([exited, sleep(5_000)]);
      }
      // Kernels run in sessions of their own; any the server left behind die here.
      for (const pid of processesMentioning(runtimeDir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
      fs.rmSync(runtimeDir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (done) {
      await stop();
      throw new Error(`jupyter notebook exited before it answered:\n${recent.join("\n")}`);
    }
    try {
      if ((await api("GET", "api/status")).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter notebook did not answer on ${baseUrl}:\n${recent.join("\n")}`);
    }
    await sleep(250);
  }
  return {
    baseUrl,
    url: `${baseUrl}tree?token=${token}`,
    port,
    token,
    notebookDir,
    profile,
    child,
    exited,
    api,
    stop,
  };
}

const USAGE = `usage: notebook-server [--port P] [--profile P] [--data DIR]

Starts the classic Jupyter Notebook server on 127.0.0.1 over notebooks/ with the tslab kernel and
interactive figures, and prints the URL to open (with its token). Ctrl-C stops it and its kernels.
  --port P      port (default 8888, else a free one)
  --profile P   NARRATOR_PROFILE for the notebooks (default: $NARRATOR_PROFILE, else mini)
  --data DIR    NARRATOR_DATA for the notebooks (default: $NARRATOR_DATA, else the library's default)
  --verbose     print the server's log`;

/** The notebook-server command: start, print the URL, stop on Ctrl-C or SIGTERM. */
export const notebookServerCommand: Command = {
  summary: "the notebooks in a browser (classic Jupyter Notebook, tslab kernel)",
  usage: USAGE,
  options: {
    port: { type: "string" },
    profile: { type: "string" },
    data: { type: "string" },
    verbose: { type: "boolean" },
  },
  async run(values) {
    if (!hasNotebookServer())
      throw new UsageError(
        "jupyter notebook is not installed: apt-get install jupyter-notebook (Debian's classic Notebook server)",
      );
    const port = numberOpt(values, "port", 0, { integer: true, min: 1, max: 65535 });
    const server = await startNotebookServer({
      port: port || undefined,
      profile: values.profile as string | undefined,
      dataDir: values.data as string | undefined,
      log: values.verbose ? (line) => console.error(line) : undefined,
    });
    const data = serverEnv({
      profile: server.profile,
      dataDir: values.data as string | undefined,
    }).NARRATOR_DATA;
    console.log(
      `Jupyter Notebook on ${server.notebookDir} (profile ${server.profile}, data ${data ?? resolveDataDir()}):`,
    );
    console.log(`  ${server.url}`);
    console.log("Ctrl-C stops the server and its kernels.");
    const shutdown = () => {
      console.log("stopping the notebook server and its kernels");
      void server.stop().then(() => process.exit(0));
    };
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
    const code = await server.exited;
    await server.stop();
    if (code) throw new Error(`jupyter notebook exited with ${code}`);
  },
};

if (require.main === module) {
  const { values, positionals } = parse(notebookServerCommand, process.argv.slice(2));
  if (values.help) console.log(USAGE);
  else
    notebookServerCommand.run(values, positionals).catch((e: Error) => {
      console.error(e instanceof UsageError ? e.message : e);
      process.exitCode = 1;
    });
}
