/**
 * The TypeScript that the notebooks' tslab kernel compiles cells with: the project's own compiler
 * (node_modules/typescript, the one `npm run typecheck` uses) in place of tslab's bundled fork
 * (@tslab/typescript-for-tslab 5.0), which reports errors in src/ that the project's compiler
 * does not. tslab needs a few things the fork added; they are rebuilt here from the compiler's
 * own functions. Two behaviours differ from plain tslab, on purpose:
 *
 * - Files outside the notebook's folder (the library in src/) are type-checked as the cell's
 *   imports need, but neither emitted nor reported on by tslab: Node loads them itself through
 *   tsx, as the CLI and the tests do, so `import ... from "../src"` runs the one library with
 *   its real paths (tslab would run its own copy of every file from under the notebook folder).
 *   That is also why "not under rootDir" is dropped: tslab's rootDir only places emitted files.
 * - Top-level await is still reported to tslab as the fork's `disableTopLevelAwait` did (code
 *   1308), since that is how tslab knows to run a cell as an async function.
 */
import * as path from "node:path";
import type * as TS from "typescript";

// The compiler's module object at run time (its namespace import is a read-only view).
const ts = require("typescript") as typeof TS;

/** Compiler internals used below: not in typescript.d.ts, present in the compiler's bundle. */
interface Internals {
  getTouchingPropertyName(sourceFile: TS.SourceFile, position: number): TS.Node;
  getContainerNode(node: TS.Node): TS.Declaration | undefined;
  createTextSpanFromNode(node: TS.Node, sourceFile?: TS.SourceFile): TS.TextSpan;
  typeToDisplayParts(
    checker: TS.TypeChecker,
    type: TS.Type,
    enclosing?: TS.Node,
  ): TS.SymbolDisplayPart[];
  sortAndDeduplicateDiagnostics(diagnostics: readonly TS.Diagnostic[]): TS.Diagnostic[];
  getEmitDeclarations(options: TS.CompilerOptions): boolean;
  nullTransformationContext: TS.TransformationContext;
  SymbolDisplay: {
    getSymbolDisplayPartsDocumentationAndSymbolKind(
      checker: TS.TypeChecker,
      symbol: TS.Symbol,
      sourceFile: TS.SourceFile,
      enclosing: TS.Node | undefined,
      location: TS.Node,
    ): {
      symbolKind: string;
      displayParts: TS.SymbolDisplayPart[];
      documentation: TS.SymbolDisplayPart[];
      tags: TS.JSDocTagInfo[] | undefined;
    };
    getSymbolModifiers(checker: TS.TypeChecker, symbol: TS.Symbol): string;
  };
  Completions: Record<string, unknown> & {
    getCompletionsAtPosition(
      host: object,
      program: TS.Program,
      log: (message: string) => void,
      sourceFile: TS.SourceFile,
      position: number,
      preferences: TS.UserPreferences,
      triggerCharacter: string | undefined,
      completionKind: TS.CompletionTriggerKind | undefined,
      cancellationToken: TS.CancellationToken,
      formatContext?: undefined,
    ): TS.CompletionInfo | undefined;
  };
}

const internal = ts as unknown as Internals;

/** tslab's error for "await outside an async function": how it recognises a top-level await. */
export const TOP_LEVEL_AWAIT_CODE = 1308;
/** "File is not under rootDir": tslab's rootDir only places emitted files, and src/ is not emitted. */
const NOT_UNDER_ROOT_DIR_CODE = 6059;

/** Whether `file` lies inside `dir`. */
function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/** The folder tslab compiles cells in (its rootDir, the notebook's folder). */
function cellDir(program: TS.Program): string {
  return program.getCompilerOptions().rootDir ?? program.getCurrentDirectory();
}

/** The @types folders of `dir` and its ancestors, nearest first (the fork's getDefaultTypeRoots). */
export function getDefaultTypeRoots(
  currentDirectory: string,
  host: { directoryExists?: (dir: string) => boolean },
): string[] | undefined {
  if (!host.directoryExists) return [path.join(currentDirectory, "node_modules", "@types")];
  const roots: string[] = [];
  for (let dir = path.resolve(currentDirectory); ; dir = path.dirname(dir)) {
    const atTypes = path.join(dir, "node_modules", "@types");
    if (host.directoryExists(atTypes)) roots.push(atTypes);
    if (path.dirname(dir) === dir) break;
  }
  return roots.length ? roots : undefined;
}

/** The `await` keywords of a file outside any function or class static block, as 1308 errors. */
export function topLevelAwaitDiagnostics(sourceFile: TS.SourceFile): TS.Diagnostic[] {
  const found: TS.Diagnostic[] = [];
  const report = (start: number) =>
    found.push({
      file: sourceFile,
      start,
      length: "await".length,
      category: ts.DiagnosticCategory.Error,
      code: TOP_LEVEL_AWAIT_CODE,
      messageText: "'await' expressions are only allowed within async functions.",
    });
  const visit = (node: TS.Node): void => {
    if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return;
    if (ts.isAwaitExpression(node)) report(node.getStart(sourceFile));
    else if (ts.isForOfStatement(node) && node.awaitModifier)
      report(node.awaitModifier.getStart(sourceFile));
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sourceFile, visit);
  return found;
}

/**
 * Diagnostics of the given files as tslab shows them (the fork's getPreEmitDiagnosticsOfFiles):
 * files outside the notebook's folder are skipped (tslab would drop their errors anyway, and
 * checking all of src/ for every cell would take seconds), top-level awaits are reported.
 */
export function getPreEmitDiagnosticsOfFiles(
  program: TS.Program,
  sourceFiles: readonly TS.SourceFile[],
  cancellationToken?: TS.CancellationToken,
): TS.Diagnostic[] {
  const dir = cellDir(program);
  const diagnostics: TS.Diagnostic[] = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(cancellationToken),
    ...program.getGlobalDiagnostics(cancellationToken),
  ];
  for (const file of sourceFiles) {
    if (!isInside(dir, file.fileName)) continue;
    diagnostics.push(...program.getSyntacticDiagnostics(file, cancellationToken));
    diagnostics.push(...program.getSemanticDiagnostics(file, cancellationToken));
    if (internal.getEmitDeclarations(program.getCompilerOptions()))
      diagnostics.push(...program.getDeclarationDiagnostics(file, cancellationToken));
    diagnostics.push(...topLevelAwaitDiagnostics(file));
  }
  return internal.sortAndDeduplicateDiagnostics(
    diagnostics.filter((d) => d.code !== NOT_UNDER_ROOT_DIR_CODE),
  );
}

/** Hover text for a position (the fork's getQuickInfoAtPosition, without the language service). */
export function getQuickInfoAtPosition(
  sourceFile: TS.SourceFile,
  checker: TS.TypeChecker,
  _cancellationToken: TS.CancellationToken,
  position: number,
): TS.QuickInfo | undefined {
  const node = internal.getTouchingPropertyName(sourceFile, position);
  if (node === sourceFile) return undefined;
  const textSpan = internal.createTextSpanFromNode(node, sourceFile);
  const container = internal.getContainerNode(node);
  const symbol = checker.getSymbolAtLocation(node);
  if (!symbol) {
    const typed =
      ts.isIdentifier(node) ||
      ts.isPropertyAccessExpression(node) ||
      node.kind === ts.SyntaxKind.ThisKeyword;
    if (!typed) return undefined;
    const type = checker.getTypeAtLocation(node);
    return {
      kind: ts.ScriptElementKind.unknown,
      kindModifiers: ts.ScriptElementKindModifier.none,
      textSpan,
      displayParts: internal.typeToDisplayParts(checker, type, container),
      documentation: type.symbol?.getDocumentationComment(checker),
      tags: type.symbol?.getJsDocTags(checker),
    };
  }
  const info = internal.SymbolDisplay.getSymbolDisplayPartsDocumentationAndSymbolKind(
    checker,
    symbol,
    sourceFile,
    container,
    node,
  );
  return {
    kind: info.symbolKind as TS.ScriptElementKind,
    kindModifiers: internal.SymbolDisplay.getSymbolModifiers(checker, symbol),
    textSpan,
    displayParts: info.displayParts,
    documentation: info.documentation,
    tags: info.tags,
  };
}

/** tslab's compiler options, minus what this compiler no longer accepts, at the project's target. */
function adaptOptions(options: TS.CompilerOptions): TS.CompilerOptions {
  const adapted: TS.CompilerOptions = { ...options };
  delete adapted.noImplicitUseStrict; // removed in TypeScript 5.5; handled in transpileModule
  delete adapted.disableTopLevelAwait; // the fork's option; see topLevelAwaitDiagnostics
  // Cells are held to the project's rules (tsconfig.json), e.g. no implicit any, null checks.
  adapted.strict = true;
  // The project's language level (tsconfig.json), so cells may use what src/ uses.
  if (adapted.target !== undefined && adapted.target < ts.ScriptTarget.ES2022) {
    adapted.target = ts.ScriptTarget.ES2022;
    adapted.lib = ["lib.es2022.d.ts", ...(adapted.lib ?? []).filter((l) => !/^lib\.es\d/.test(l))];
  }
  return adapted;
}

/** Emit only the files in the notebook's folder; Node loads the others (see the header). */
function emitCellFilesOnly(builder: TS.EmitAndSemanticDiagnosticsBuilderProgram): void {
  const emit = builder.emit.bind(builder);
  const dir = cellDir(builder.getProgram());
  builder.emit = (target, ...rest) =>
    target && !isInside(dir, target.fileName)
      ? { emitSkipped: true, diagnostics: [] }
      : emit(target, ...rest);
}

type WatchHost =
  TS.WatchCompilerHostOfFilesAndCompilerOptions<TS.EmitAndSemanticDiagnosticsBuilderProgram>;

/** The compiler module tslab loads in place of its fork. */
export function typescriptForTslab(): typeof TS {
  const createWatchCompilerHost = ts.createWatchCompilerHost as (
    rootFiles: string[],
    options: TS.CompilerOptions,
    ...rest: unknown[]
  ) => WatchHost;
  const createWatchProgram = ts.createWatchProgram as (host: WatchHost) => unknown;
  return {
    ...ts,
    getDefaultTypeRoots,
    getPreEmitDiagnosticsOfFiles,
    getQuickInfoAtPosition,
    getNullTransformationContext: () => internal.nullTransformationContext,
    Completions: {
      ...internal.Completions,
      getCompletionsAtPositionForTslab: (
        ...args: Parameters<Internals["Completions"]["getCompletionsAtPosition"]>
      ) => internal.Completions.getCompletionsAtPosition(...args),
    },
    createWatchCompilerHost: (
      rootFiles: string[],
      options: TS.CompilerOptions,
      ...rest: unknown[]
    ) => createWatchCompilerHost(rootFiles, adaptOptions(options), ...rest),
    createWatchProgram: (host: WatchHost) => {
      // tslab sets afterProgramCreate (where it keeps each new builder) before this call.
      const after = host.afterProgramCreate;
      host.afterProgramCreate = (builder) => {
        emitCellFilesOnly(builder);
        after?.(builder);
      };
      return createWatchProgram(host);
    },
    transpileModule: (input: string, transpileOptions: TS.TranspileOptions) => {
      const out = ts.transpileModule(input, {
        ...transpileOptions,
        compilerOptions: adaptOptions(transpileOptions.compilerOptions ?? {}),
      });
      // tslab asked for no "use strict" (noImplicitUseStrict): cells run as sloppy scripts.
      return { ...out, outputText: out.outputText.replace(/^"use strict";\n/, "") };
    },
  } as unknown as typeof TS;
}
