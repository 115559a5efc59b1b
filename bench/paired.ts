/**
 * Side-by-side figures that hold on a shared machine: contenders take turns, one step each per
 * round, so that a burst of load from other processes lands on all of them alike; the figure
 * of each is its median step, and each ratio is the median of the per-round ratios.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";

/** One contender: `step` runs one step and resolves to its time in ms; `setup` is not timed. */
export interface Contender {
  name: string;
  setup?: () => void;
  step: () => Promise<number>;
}

/** Step times in ms by contender name, one per round. */
export type RoundTimes = Map<string, number[]>;

/** Runs `rounds` rounds of one step per contender (after one untimed warm-up round). */
export async function interleave(contenders: Contender[], rounds: number): Promise<RoundTimes> {
  const times: RoundTimes = new Map(contenders.map((c) => [c.name, []]));
  for (let r = -1; r < rounds; r++) {
    for (const c of contenders) {
      c.setup?.();
      const ms = await c.step();
      if (r >= 0) times.get(c.name)!.push(ms);
    }
  }
  return times;
}

/** The middle value (upper middle for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** How many times faster `a` ran than `b`: the median over rounds of b's step time over a's. */
export function speedup(times: RoundTimes, a: string, b: string): number {
  const ta = times.get(a)!;
  const tb = times.get(b)!;
  return median(ta.map((t, i) => tb[i] / t));
}

/** Times an async step in ms. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/** A PyTorch process running the reference step on request (bench/torch_step.py serve). */
export interface TorchServer {
  torch: string;
  device: string;
  /** One step; resolves to its time in ms as PyTorch measured it. */
  step(): Promise<number>;
  close(): void;
}

/** Starts torch_step.py in serve mode; resolves to why not, as a string, when it cannot run. */
export async function startTorch(python: string, threads: number): Promise<TorchServer | string> {
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(python, [path.join(__dirname, "torch_step.py"), String(threads), "serve"]);
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  }
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(stderr.trim().split("\n").slice(-1)[0] || "PyTorch exited");
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const failed = new Promise<never>((_, reject) => child.on("error", reject));
  try {
    const ready = await Promise.race([next(), failed]);
    return {
      torch: String(ready.torch),
      device: String(ready.device),
      step: async () => {
        child.stdin.write("step\n");
        return Number((await next()).msPerStep);
      },
      close: () => child.stdin.end(),
    };
  } catch (e) {
    child.kill();
    const msg = (e as Error).message;
    return msg.includes("No module named 'torch'")
      ? "python3-torch not installed"
      : `failed: ${msg}`;
  }
}
