/** Duplicate removal: exact keys and whitespace-normalised keys, keeping the first occurrence in file order. */
import { createHash } from "node:crypto";
import type { FunnelTracker } from "./funnel";

/** Collapse every run of whitespace to one space and trim, so that re-indented or re-wrapped copies compare equal. */
export function normaliseWhitespace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Keep the first row of each key; keys are hashed so that long code does not stay referenced twice. */
export function dedupBy<T>(rows: readonly T[], key: (row: T) => string): T[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const h = createHash("sha256").update(key(row)).digest("base64");
    if (seen.has(h)) return false;
    seen.add(h);
    return true;
  });
}

/** A dedup pass recorded as a funnel stage. */
export function dedupStage<T>(
  funnel: FunnelTracker,
  stage: string,
  rows: readonly T[],
  key: (row: T) => string,
): T[] {
  const out = dedupBy(rows, key);
  funnel.record(stage, rows.length, out.length);
  return out;
}
