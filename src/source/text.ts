/** Source files' bytes as text: one test of "is this text" for the corpus and `explain --file`. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes as UTF-8 text; null when they are not text (invalid UTF-8, or a NUL byte: binary). */
export function sourceText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  return text.includes("\u0000") ? null : text;
}
