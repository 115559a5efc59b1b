/**
 * The digest of a range of commits, built from git's facts only (counts, authors, dates, files,
 * lines, the authors' own subjects), never from generated text: a small narrator's explanations
 * are shown per commit, but a summary of them would repeat their errors as if they were facts.
 * Same commits -> same digest.
 */
import type { CommitRecord } from "./git";

/** The facts of a commit that the digest and the activity chart count. */
export type CommitFacts = Pick<
  CommitRecord,
  "sha" | "subject" | "author" | "date" | "files" | "insertions" | "deletions"
>;

/** A count with thousands separators ("1,234"). */
export const int = (n: number): string => n.toLocaleString("en-US");
/** A count and a noun, plural unless the count is 1 ("3 files"). */
export const plural = (n: number, one: string): string => `${int(n)} ${one}${n === 1 ? "" : "s"}`;

/** The calendar day of a commit in its author's own time zone (YYYY-MM-DD of git's %aI). */
export function commitDay(c: Pick<CommitRecord, "date">): string {
  return c.date.slice(0, 10);
}

/** The folder a file's change is counted under: its first two path segments ("(top level)" for root files). */
export function areaOf(file: string): string {
  const parts = file.split("/");
  return parts.length === 1
    ? "(top level)"
    : parts.slice(0, Math.min(2, parts.length - 1)).join("/");
}

/** Commits and changed lines per day (days in order, only days with commits). */
export interface DayActivity {
  day: string;
  commits: number;
  insertions: number;
  deletions: number;
}

/** Every calendar day from `first` to `last` (YYYY-MM-DD, both included). */
export function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 864e5) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** Activity per day of a range, from its first day to its last, days without commits included. */
export function activityByDay(commits: readonly CommitFacts[]): DayActivity[] {
  if (commits.length === 0) return [];
  const sorted = commits.map(commitDay).sort();
  const days = new Map<string, DayActivity>(
    daysBetween(sorted[0], sorted[sorted.length - 1]).map((day) => [
      day,
      { day, commits: 0, insertions: 0, deletions: 0 },
    ]),
  );
  for (const c of commits) {
    const d = days.get(commitDay(c))!;
    d.commits++;
    d.insertions += c.insertions;
    d.deletions += c.deletions;
  }
  return [...days.values()];
}

function authorsPhrase(commits: readonly CommitFacts[]): string {
  const counts = new Map<string, number>();
  for (const c of commits) counts.set(c.author, (counts.get(c.author) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (sorted.length === 1) return `by ${sorted[0][0]}`;
  if (sorted.length <= 3) {
    const named = sorted.map(([a, n]) => `${a} (${int(n)})`);
    return `by ${named.slice(0, -1).join(", ")} and ${named[named.length - 1]}`;
  }
  return `by ${int(sorted.length)} authors, most by ${sorted[0][0]} (${int(sorted[0][1])})`;
}

/** The short, factual digest of a range (see the module comment). */
export function rangeDigest(commits: readonly CommitFacts[]): string {
  if (commits.length === 0) return "No commits.";
  const days = commits.map(commitDay).sort();
  const span =
    days[0] === days[days.length - 1]
      ? `on ${days[0]}`
      : `from ${days[0]} to ${days[days.length - 1]}`;
  const files = new Set(commits.flatMap((c) => c.files.map((f) => f.path)));
  const ins = commits.reduce((a, c) => a + c.insertions, 0);
  const del = commits.reduce((a, c) => a + c.deletions, 0);
  const areas = new Map<string, number>();
  for (const c of commits)
    for (const f of c.files) {
      const area = areaOf(f.path);
      areas.set(area, (areas.get(area) ?? 0) + (f.insertions ?? 0) + (f.deletions ?? 0));
    }
  const top = [...areas]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([a, n], i) => `${a} (${int(n)}${i === 0 ? " lines" : ""})`);
  const largest = [...commits].sort(
    (a, b) => b.insertions + b.deletions - (a.insertions + a.deletions),
  )[0];
  const sentences = [
    `${plural(commits.length, "commit")} ${span} ${authorsPhrase(commits)}.`,
    `${plural(files.size, "file")} changed, +${int(ins)}/-${int(del)} lines` +
      (top.length ? `, mostly in ${top.join(", ")}.` : "."),
  ];
  if (commits.length > 1) {
    sentences.push(
      `Largest change: ${largest.sha.slice(0, 7)} "${largest.subject}" (+${int(largest.insertions)}/-${int(largest.deletions)}).`,
    );
  }
  return sentences.join(" ");
}
