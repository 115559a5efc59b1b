/**
 * A change narrated within the model's window. A change that fits is narrated once, as training
 * read it. A change of several files that does not fit is narrated hierarchically: each file alone
 * (the most changed first, at most `maxFiles`, each cut to the window if it must be), then the
 * whole change once more with every file cut to its share of the window (`shareBudget`), so that
 * every file is read; that narration heads the explanation and the files' narrations follow it.
 * Notes say what was left out: the tokens cut from each file, and the files not narrated alone.
 */
import { sourceLangOfPath as langOfPath } from "../source/languages";
import { int, plural } from "./digest";
import type { ChangeRequest } from "./inputs";
import type { Narration, Narrator } from "./narrator";
import { shareBudget, truncationNote } from "./prompt";

/** One file of a change, narrated alone. */
export interface FileNarration {
  path: string;
  explanation: string;
  notes: string[];
  inputTokens: number;
  keptInputTokens: number;
}

/** A change's narration; `files` holds the files' own narrations when the change was split. */
export interface ChangeNarration extends Narration {
  files: FileNarration[];
}

/** Items of a note: the first ten, then how many more. */
function listed(items: readonly string[]): string {
  const shown = items.slice(0, 10).join(", ");
  return items.length > 10 ? `${shown} and ${int(items.length - 10)} more` : shown;
}

/** Narrate a change (see the module comment); `maxFiles` bounds the files narrated alone. */
export function narrateChange(
  narrator: Narrator,
  change: ChangeRequest,
  maxFiles: number,
): ChangeNarration {
  const { request, inputs, joiner } = change;
  const whole = narrator.promptParts(request);
  const budget = narrator.inputBudget(whole.head.length + whole.tail.length);
  if (whole.input.length <= budget || inputs.length < 2) {
    return { ...narrator.narrate(request), files: [] };
  }
  // Each file's ids, with the joiner that follows it in the whole input.
  const ids = inputs.map(
    (f, i) =>
      narrator.promptParts({ ...request, input: f.input + (i < inputs.length - 1 ? joiner : "") })
        .input,
  );
  const total = ids.reduce((a, x) => a + x.length, 0);
  const kept = shareBudget(
    ids.map((x) => x.length),
    budget,
  );
  const keptTotal = kept.reduce((a, b) => a + b, 0);
  const combined = narrator.complete({
    ids: [...whole.head, ...ids.flatMap((x, i) => x.slice(0, kept[i])), ...whole.tail],
    frameTokens: whole.head.length + whole.tail.length,
    inputTokens: total,
    keptInputTokens: keptTotal,
  });
  const order = inputs
    .map((_, i) => i)
    .sort((a, b) => inputs[b].changed - inputs[a].changed || a - b);
  const alone = order.slice(0, maxFiles).sort((a, b) => a - b);
  const files = alone.map((i): FileNarration => {
    const f = inputs[i];
    const n = narrator.narrate({
      ...request,
      language: langOfPath(f.path) ?? request.language,
      input: f.input,
    });
    return {
      path: f.path,
      explanation: n.explanation,
      notes: n.notes,
      inputTokens: n.inputTokens,
      keptInputTokens: n.keptInputTokens,
    };
  });
  const cut = inputs.flatMap((f, i) =>
    kept[i] < ids[i].length ? [`${f.path} kept ${int(kept[i])} of ${int(ids[i].length)}`] : [],
  );
  const skipped = order
    .slice(maxFiles)
    .map((i) => `${inputs[i].path} (${plural(ids[i].length, "token")})`);
  const notes = [
    `the change holds ${plural(total, "input token")} in ${plural(inputs.length, "file")}, more than the ${int(budget)} the model's window leaves for input: each file was narrated alone, then the whole change with each file cut to its share`,
    `left out of the whole change's narration: ${int(total - keptTotal)} of ${plural(total, "token")} (${listed(cut)})`,
    ...(skipped.length
      ? [
          `not narrated alone (${plural(maxFiles, "file")} at most, the most changed first): ${listed(skipped)}`,
        ]
      : []),
    ...combined.notes.filter((n) => n !== truncationNote(combined)),
  ];
  return { ...combined, notes, files };
}
