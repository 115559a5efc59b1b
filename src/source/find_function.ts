/**
 * Pick one function of a source by name, for `narrator explain --file PATH:function`. A name
 * matches a function's own name, its qualified name (`Class.method`, `Receiver.Method` in Go) or a
 * dotted tail of it; `name@LINE` picks one of several by the line its declaration starts on.
 * Errors name the file and the function, with close names.
 */
import { listFunctions, type SourceFunction } from "./functions";
import { isTsxPath, type SourceLang } from "./languages";
import type { FunctionSpan } from "./span";

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Names close to `query` (case-insensitive): within a third of its length in edits (at least 2),
 * or containing it, or contained in it; closest first, at most `limit`.
 */
export function closeNames(query: string, names: readonly string[], limit = 5): string[] {
  const q = query.toLowerCase();
  const scored = [...new Set(names)]
    .map((n) => {
      const l = n.toLowerCase();
      const d = editDistance(q, l);
      const near = d <= Math.max(2, Math.floor(q.length / 3)) || l.includes(q) || q.includes(l);
      return { n, d, near };
    })
    .filter((s) => s.near)
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n));
  return scored.slice(0, limit).map((s) => s.n);
}

const tail = (f: FunctionSpan, q: string) =>
  f.name === q || f.qualifiedName === q || f.qualifiedName.endsWith(`.${q}`);

/** The function named `query` in `source`; errors name the file and the function, with close names. */
export function findFunction(
  source: string,
  lang: SourceLang,
  query: string,
  file: string,
): SourceFunction {
  const at = /^(.*)@(\d+)$/.exec(query);
  const name = at ? at[1] : query;
  const all = listFunctions(source, lang, { jsx: isTsxPath(file) });
  let found = all.filter((f) => tail(f, name));
  if (at) found = found.filter((f) => f.startLine === Number(at[2]));
  if (found.length > 1) {
    const exact = found.filter((f) => f.qualifiedName === name);
    if (exact.length === 1) found = exact;
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    const where = found.map((f) => `${f.qualifiedName} (line ${f.startLine})`).join(", ");
    throw new Error(
      `${file}: ${found.length} functions match '${query}': ${where}; name one as Class.name or name@LINE`,
    );
  }
  if (at && all.some((f) => tail(f, name))) {
    const lines = all.filter((f) => tail(f, name)).map((f) => f.startLine);
    throw new Error(
      `${file}: no function '${name}' starts on line ${at[2]} (it starts on ${lines.join(", ")})`,
    );
  }
  const close = closeNames(name, [...all.map((f) => f.name), ...all.map((f) => f.qualifiedName)]);
  const hint =
    all.length === 0
      ? `no ${lang} functions were found in it`
      : close.length > 0
        ? `close names: ${close.join(", ")}`
        : `its functions: ${all
            .slice(0, 20)
            .map((f) => f.qualifiedName)
            .join(", ")}${all.length > 20 ? `, ... (${all.length} in all)` : ""}`;
  throw new Error(`${file}: no function '${name}' (${lang}); ${hint}`);
}
