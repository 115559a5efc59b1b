/**
 * Functions of the brace languages (Java, JavaScript, TypeScript, PHP, Go): the lexer's tokens
 * walked with a stack of brace scopes (classes, functions, plain blocks) while each language's
 * detector recognises its headers. A function ends at the brace that closes its body (an arrow
 * with an expression body, at the expression's end); its doc comment is read from the comments
 * the lexer recorded.
 */
import { detectGo, detectJava, detectPhp, type Detector, type Scope } from "./brace_headers";
import { BraceLexer, type BraceLang } from "./brace_lexer";
import { blockDocComment, lineCommentBlock } from "./doc_comments";
import { is } from "./lexer";
import { scriptDetector } from "./script_headers";
import { qualify, type FunctionSpan } from "./span";

const DETECTORS: Record<BraceLang, Detector> = {
  java: detectJava,
  javascript: scriptDetector(false),
  typescript: scriptDetector(true),
  php: detectPhp,
  go: detectGo,
};

/** Every function of a Java, JavaScript, TypeScript, PHP or Go source (TSX with `jsx`), in source order. */
export function braceFunctions(source: string, lang: BraceLang, jsx = false): FunctionSpan[] {
  const lexer = new BraceLexer(source, lang, jsx);
  const tokens = lexer.run();
  const doc = (start: number): string | null => {
    if (lang !== "go") return blockDocComment(source, lexer.comments, start);
    const lines = lineCommentBlock(source, lexer.comments, start, "//");
    return lines.length > 0 ? lines.join("\n") : null;
  };
  const detect = DETECTORS[lang];
  const opens = new Map<number, Scope>();
  const stack: Scope[] = [];
  const spans: FunctionSpan[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const top = stack[stack.length - 1];
    let found = detect(tokens, i, top);
    // A header already claimed by an earlier token (`const f = function g() {`) counts once.
    if (found && "body" in found && opens.has(found.body)) found = null;
    if (found?.kind === "class") {
      opens.set(found.body, { kind: "class", name: found.name, start: t.start });
    } else if (found) {
      // A dotted name (Go's Receiver.Name, JavaScript's module.exports.helper) names its owner.
      const dot = found.name.lastIndexOf(".");
      const owner = dot > 0 ? found.name.slice(0, dot) : top?.kind === "class" ? top.name : null;
      const span: FunctionSpan = {
        name: found.name.slice(dot + 1),
        qualifiedName: qualify(
          stack.map((s) => s.name),
          found.name,
        ),
        owner,
        start: found.start,
        end: 0,
        doc: doc(found.start),
      };
      if ("end" in found) spans.push({ ...span, end: found.end });
      else opens.set(found.body, { kind: "function", name: found.name, start: found.start, span });
    }
    if (is(t, "{")) stack.push(opens.get(i) ?? { kind: "block", name: null, start: t.start });
    else if (is(t, "}")) {
      const scope = stack.pop();
      if (scope?.span) spans.push({ ...scope.span, end: t.end });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}
