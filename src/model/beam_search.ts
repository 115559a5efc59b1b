/**
 * Beam search as Hugging Face's `generate(num_beams=N, early_stopping=True)` runs it for a
 * decoder-only model:
 * - each step extends every running beam by every token; the candidates are ranked by their sum of
 *   log-probabilities, and the best max(2, 1 + stop tokens) x N are read in order;
 * - a candidate ending in a stop token becomes a finished hypothesis when it ranks among the first
 *   N, scored sum / length^lengthPenalty (length: generated tokens, the stop token included); at
 *   most N hypotheses are kept, the worst dropped;
 * - the other candidates become the running beams until there are N of them;
 * - search stops once N hypotheses are finished (early stopping), or at the token limit or the
 *   model's context, where the running beams join the hypotheses with their own scores;
 * - the answer is the best-scored hypothesis (on a tie, the one finished later).
 * The no-repeat-n-gram rule and the minimum length apply to each beam's own tokens, after the
 * log-softmax (as Hugging Face's logits processors do: the rest is not renormalised).
 */
import {
  checkDecoding,
  banTokens,
  logSoftmax,
  type GenerateOptions,
  type TokenStepper,
} from "./decoding";

interface Hypothesis {
  tokens: number[];
  score: number;
}

/** The N best finished hypotheses (Hugging Face's BeamHypotheses). */
class Hypotheses {
  readonly list: Hypothesis[] = [];
  private worst = Infinity;
  constructor(
    private readonly beams: number,
    private readonly lengthPenalty: number,
  ) {}

  add(tokens: number[], sumLogprobs: number): void {
    const score = sumLogprobs / tokens.length ** this.lengthPenalty;
    if (this.list.length >= this.beams && score <= this.worst) return;
    this.list.push({ tokens, score });
    if (this.list.length > this.beams) {
      const order = this.list
        .map((h, i) => i)
        .sort((a, b) => this.list[a].score - this.list[b].score || a - b);
      this.list.splice(order[0], 1);
      this.worst = Math.min(...this.list.map((h) => h.score));
    } else {
      this.worst = Math.min(score, this.worst);
    }
  }

  /** Early stopping: N hypotheses are finished. */
  done(): boolean {
    return this.list.length >= this.beams;
  }

  /** The best hypothesis's tokens ([] when every token was ruled out). */
  best(): number[] {
    let best: Hypothesis | undefined;
    for (const h of this.list) if (best === undefined || h.score >= best.score) best = h;
    return best?.tokens ?? [];
  }
}

interface Beam {
  tokens: number[];
  sum: number;
}

interface Candidate {
  parent: number;
  token: number;
  sum: number;
}

/** Beam search over a stepper (see the module comment); the result ends with its stop token if it has one. */
export function beamSearch(stepper: TokenStepper, opts: GenerateOptions): number[] {
  checkDecoding(opts);
  const n = opts.beams ?? 1;
  const max = opts.maxNewTokens ?? 64;
  const stop = new Set(opts.stopTokens ?? []);
  const keep = Math.max(2, 1 + stop.size) * n;
  const hyps = new Hypotheses(n, opts.lengthPenalty ?? 1);
  let running: Beam[] = [{ tokens: [], sum: 0 }];
  let rows: Float32Array[] | null = [stepper.start()];
  for (let length = 1; rows !== null && length <= max; length++) {
    const candidates: Candidate[] = [];
    running.forEach((beam, parent) => {
      const logp = logSoftmax(rows![parent]);
      banTokens(logp, beam.tokens, opts);
      logp.forEach((lp, token) => {
        if (lp > -Infinity) candidates.push({ parent, token, sum: beam.sum + lp });
      });
    });
    // Best first; ties by beam, then token, so the search is deterministic.
    candidates.sort((a, b) => b.sum - a.sum || a.parent - b.parent || a.token - b.token);
    const next: Candidate[] = [];
    for (const [rank, c] of candidates.slice(0, keep).entries()) {
      if (stop.has(c.token)) {
        if (rank < n) hyps.add([...running[c.parent].tokens, c.token], c.sum);
      } else {
        next.push(c);
        if (next.length === n) break;
      }
    }
    running = next.map((c) => ({ tokens: [...running[c.parent].tokens, c.token], sum: c.sum }));
    if (hyps.done()) return hyps.best();
    if (running.length === 0 || length === max) break;
    rows = stepper.step(
      next.map((c) => c.parent),
      next.map((c) => c.token),
    );
  }
  for (const beam of running) hyps.add(beam.tokens, beam.sum);
  return hyps.best();
}
