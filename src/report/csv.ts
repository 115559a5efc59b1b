/**
 * A figure's data as CSV (RFC 4180): the rows its Vega-Lite spec draws (`data.values`), columns in
 * first-seen order, so that readers can take the numbers behind any figure elsewhere.
 */
import type { TopLevelSpec } from "vega-lite";

/** One CSV field: numbers as JavaScript prints them, lists and objects as JSON, null as empty. */
function field(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text =
    typeof value === "string"
      ? value
      : typeof value === "number" || typeof value === "boolean"
        ? String(value)
        : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows as CSV with a header line; lines end with CRLF as RFC 4180 asks. */
export function toCsv(rows: readonly Readonly<Record<string, unknown>>[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
  const lines = [
    columns.map(field).join(","),
    ...rows.map((r) => columns.map((c) => field(r[c])).join(",")),
  ];
  return lines.map((l) => `${l}\r\n`).join("");
}

/** The rows a figure's spec holds inline (none when its data is not inline values). */
export function specRows(spec: TopLevelSpec): Record<string, unknown>[] {
  const values = (spec as { data?: { values?: unknown } }).data?.values;
  return Array.isArray(values) ? (values as Record<string, unknown>[]) : [];
}

/** A figure's data as CSV. */
export function figureCsv(spec: TopLevelSpec): string {
  return toCsv(specRows(spec));
}

/** A data: URI holding CSV text, for a download link that needs no other file. */
export function csvDataUri(csv: string): string {
  return `data:text/csv;charset=utf-8,${encodeURIComponent(csv)}`;
}
