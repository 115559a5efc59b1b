/** The preparation funnel: every stage records rows in and out per dataset and language, so no row disappears silently. */
import type { FunnelRecord, Split, Task } from "./example";
import type { Lang } from "./langs";

/** Build a funnel record from counts, so that removed is always in - out. */
export function funnelRecord(
  dataset: Task,
  language: Lang,
  stage: string,
  rowsIn: number,
  rowsOut: number,
  split?: Split,
): FunnelRecord {
  const rec: FunnelRecord = {
    dataset,
    language,
    stage,
    in: rowsIn,
    out: rowsOut,
    removed: rowsIn - rowsOut,
  };
  if (split) rec.split = split;
  return rec;
}

/** Records the stages of one dataset and language as rows pass through them. */
export class FunnelTracker {
  readonly records: FunnelRecord[] = [];

  constructor(
    readonly dataset: Task,
    readonly language: Lang,
  ) {}

  /** Record a stage whose counts were computed elsewhere. */
  record(stage: string, rowsIn: number, rowsOut: number, split?: Split): void {
    this.records.push(funnelRecord(this.dataset, this.language, stage, rowsIn, rowsOut, split));
  }

  /** Keep the rows that pass `keep`, recording the stage. */
  filter<T>(stage: string, rows: readonly T[], keep: (row: T) => boolean): T[] {
    const out = rows.filter(keep);
    this.record(stage, rows.length, out.length);
    return out;
  }
}

/**
 * Check a funnel's arithmetic and chaining; returns the problems found (empty when consistent).
 * Per dataset and language: in - removed = out for every record; each stage without a split starts
 * with the previous stage's out; the per-split records of one stage share its input: their ins sum
 * to the out of the last stage before the split.
 */
export function funnelProblems(funnel: readonly FunnelRecord[]): string[] {
  const problems: string[] = [];
  const groups = new Map<string, FunnelRecord[]>();
  for (const r of funnel) {
    if (r.in - r.removed !== r.out || r.removed < 0)
      problems.push(
        `${r.dataset}/${r.language}/${r.stage}: in ${r.in} - removed ${r.removed} != out ${r.out}`,
      );
    const key = `${r.dataset}/${r.language}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, recs] of groups) {
    let prevOut: number | null = null;
    let i = 0;
    while (i < recs.length) {
      const r = recs[i];
      if (r.split === undefined) {
        if (prevOut !== null && r.in !== prevOut)
          problems.push(`${key}/${r.stage}: in ${r.in} != previous stage's out ${prevOut}`);
        prevOut = r.out;
        i++;
        continue;
      }
      let j = i;
      let sumIn = 0;
      while (j < recs.length && recs[j].split !== undefined && recs[j].stage === r.stage)
        sumIn += recs[j++].in;
      if (prevOut !== null && sumIn !== prevOut)
        problems.push(
          `${key}/${r.stage}: per-split ins sum to ${sumIn} != previous stage's out ${prevOut}`,
        );
      prevOut = null;
      i = j;
    }
  }
  return problems;
}
