/** File helpers shared by every writer: atomic writes (temp + rename), errors naming the path. */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";

/** A failed system call as Node reports it (ENOENT, EISDIR, ENOSPC, ...). */
export interface SystemError extends Error {
  code: string;
  syscall: string;
  path?: string;
  dest?: string;
}

export function isSystemError(e: unknown): e is SystemError {
  const { code, syscall } = (e ?? {}) as { code?: unknown; syscall?: unknown };
  return e instanceof Error && typeof code === "string" && typeof syscall === "string";
}

/** A file-system failure named for a user: operation, path, reason and code; `code` is kept. */
export class FsError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(operation: string, file: string, cause: SystemError, reason = systemReason(cause)) {
    super(`cannot ${operation} ${file}: ${reason} (${cause.code})`, { cause });
    this.code = cause.code;
    this.path = file;
  }
}

/** The reason alone: Node's message is `CODE: reason, syscall 'path' -> 'dest'`. */
export function systemReason(e: SystemError): string {
  let reason = e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2) : e.message;
  const at = reason.indexOf(`, ${e.syscall}`);
  if (at >= 0) reason = reason.slice(0, at);
  return reason;
}

/** Verbs for the system calls that users meet; others are named as they are. */
const SYSCALL_VERBS: Record<string, string> = {
  mkdir: "create directory",
  scandir: "list directory",
  unlink: "remove",
  rmdir: "remove directory",
  copyfile: "copy",
  lstat: "stat",
};

/**
 * One line for a system error that reached the top without a path-naming wrapper, e.g.
 * `cannot open model.safetensors: illegal operation on a directory (EISDIR)`.
 */
export function describeSystemError(e: SystemError): string {
  const verb = SYSCALL_VERBS[e.syscall] ?? e.syscall;
  const where = e.path ? ` ${e.path}${e.dest ? ` -> ${e.dest}` : ""}` : "";
  return `cannot ${verb}${where}: ${systemReason(e)} (${e.code})`;
}

/** Run a file-system call; a system error becomes an FsError naming `operation` and `file`. */
export function withPath<T>(operation: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw isSystemError(e) ? new FsError(operation, file, e) : e;
  }
}

/** Create a directory and its parents; errors name the directory, and a file in the way. */
export function mkdirp(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    if (!isSystemError(e)) throw e;
    // EEXIST ("file already exists") and ENOTDIR both mean a file where a directory should be.
    const file = e.code === "EEXIST" || e.code === "ENOTDIR" ? fileInTheWay(dir) : null;
    const reason =
      file === null
        ? undefined
        : file === dir
          ? "a file of that name exists"
          : `${file} is a file, not a directory`;
    throw new FsError("create directory", dir, e, reason);
  }
}

/** The first of `dir` and its parents (as given) that exists and is not a directory. */
function fileInTheWay(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d, { throwIfNoEntry: false });
    } catch {
      // ENOTDIR: a parent is the file; look further up.
    }
    if (stat !== undefined) return stat.isDirectory() ? null : d;
    if (path.dirname(d) === d) return null;
  }
}

/**
 * Write a file atomically: a reader sees the old content or the new, never a partial file.
 * A failed write or rename removes the temporary file; the error names `file`.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirp(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    withPath("write", file, () => {
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, file);
    });
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The failure to report is the write's; a temp path that is not a file is not ours.
    }
    throw e;
  }
}

/** Write JSON atomically, pretty-printed with a trailing newline. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

/** Read and parse a JSON file; errors name the file. */
export function readJson<T = unknown>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    // Anything but a system error: a file too long for one string.
    if (isSystemError(e)) throw new FsError("read", file, e);
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** A file's size in bytes; 0 when it does not exist. */
export function fileSizeOrZero(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** sha256 of a file's bytes, streamed (hex). */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
