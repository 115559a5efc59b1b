/**
 * Training progress on stderr: a bar redrawn in place on a terminal (loss, tokens/s, ETA), plain
 * lines at most every few seconds otherwise (logs, CI), so that piped output stays readable.
 */

/** Where progress goes: a stream, and whether it is a terminal. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** One step's numbers. */
export interface ProgressUpdate {
  step: number;
  loss: number;
  tokensPerS: number;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** A bar of `width` cells filled in proportion to `fraction`. */
export function renderBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return "#".repeat(filled) + "-".repeat(width - filled);
}

/** Progress of a run of `total` steps, starting at `startStep` (a resumed run). */
export class Progress {
  private readonly started = Date.now();
  private lastPrint = 0;
  private drawn = false;

  constructor(
    private readonly total: number,
    private readonly startStep: number,
    private readonly sink: ProgressSink = process.stderr,
    private readonly intervalMs = 10_000,
  ) {}

  /** The line describing a step (without the bar). */
  describe(u: ProgressUpdate): string {
    const done = u.step - this.startStep;
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? ((this.total - u.step) * elapsed) / done : NaN;
    return (
      `step ${u.step}/${this.total} loss ${u.loss.toFixed(4)} ` +
      `${Math.round(u.tokensPerS)} tok/s ETA ${formatDuration(eta)}`
    );
  }

  /** Report a finished step. */
  update(u: ProgressUpdate): void {
    const now = Date.now();
    if (this.sink.isTTY) {
      this.sink.write(`\r[${renderBar(u.step / this.total)}] ${this.describe(u)}\x1b[K`);
      this.drawn = true;
    } else if (now - this.lastPrint >= this.intervalMs || u.step === this.total) {
      this.sink.write(this.describe(u) + "\n");
      this.lastPrint = now;
    }
  }

  /** Print a message on its own line (ends a bar in progress first). */
  log(message: string): void {
    this.endLine();
    this.sink.write(message + "\n");
  }

  /** End the bar's line. */
  endLine(): void {
    if (this.drawn) this.sink.write("\n");
    this.drawn = false;
  }
}

/** Events every run emits (trainer and pretraining alike), besides its own step and eval records. */
export type LifecycleEvent =
  | { type: "info"; message: string }
  | { type: "start"; totalSteps: number; startStep: number }
  | { type: "checkpoint"; step: number; dir: string };

/** The events the progress printer handles itself. */
export type RunEvent =
  LifecycleEvent | { type: "step"; step: number; loss: number | null; tokens_per_s: number };

/**
 * Print a run's events on stderr: a progress bar (terminal) or periodic lines. `describe` turns
 * a run's own events (evaluations, ...) into a line, or null to print nothing.
 */
export function progressPrinter<E extends { type: string }>(
  describe: (e: E) => string | null,
): (e: RunEvent | E) => void {
  let progress: Progress | null = null;
  const say = (line: string) => (progress ? progress.log(line) : process.stderr.write(line + "\n"));
  return (event) => {
    const e = event as RunEvent;
    switch (e.type) {
      case "info":
        return say(e.message);
      case "start":
        progress = new Progress(e.totalSteps, e.startStep);
        return;
      case "step":
        return progress?.update({ step: e.step, loss: e.loss ?? NaN, tokensPerS: e.tokens_per_s });
      case "checkpoint":
        return say(`checkpoint at step ${e.step}: ${e.dir}`);
      default: {
        const line = describe(event as E);
        if (line !== null) say(line);
      }
    }
  };
}
