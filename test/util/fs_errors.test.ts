import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
// The module object itself (not a namespace copy), so that a mock reaches src/util/fs too.
import fsModule from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  describeSystemError,
  isSystemError,
  mkdirp,
  readJson,
  withPath,
  writeFileAtomic,
} from "../../src/util/fs";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "util-fs-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** An error shaped as Node's own for a failed system call. */
function systemError(code: string, reason: string, syscall: string, file?: string) {
  const where = file === undefined ? "" : ` '${file}'`;
  return Object.assign(new Error(`${code}: ${reason}, ${syscall}${where}`), {
    code,
    errno: -1,
    syscall,
    ...(file === undefined ? {} : { path: file }),
  });
}

const tmpFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes(".tmp-"));

test("withPath names the operation, the path, the reason and the code, and keeps the code", () => {
  const enospc = systemError("ENOSPC", "no space left on device", "write");
  assert.ok(isSystemError(enospc));
  assert.throws(
    () =>
      withPath("write", "out/digest.html", () => {
        throw enospc;
      }),
    (e: Error & { code?: string; cause?: unknown }) => {
      assert.equal(e.message, "cannot write out/digest.html: no space left on device (ENOSPC)");
      assert.equal(e.code, "ENOSPC");
      assert.equal(e.cause, enospc);
      return true;
    },
  );
  // Other errors pass through untouched.
  const plain = new TypeError("not a file-system error");
  assert.ok(!isSystemError(plain));
  assert.throws(
    () =>
      withPath("write", "x", () => {
        throw plain;
      }),
    (e) => e === plain,
  );
});

test("describeSystemError: one line with the system call as a verb, the path(s) and the code", () => {
  assert.equal(
    describeSystemError(systemError("ENOTDIR", "not a directory", "mkdir", "/out/file/sub")),
    "cannot create directory /out/file/sub: not a directory (ENOTDIR)",
  );
  const rename = Object.assign(systemError("EXDEV", "cross-device link not permitted", "rename"), {
    path: "/a",
    dest: "/b",
  });
  assert.equal(
    describeSystemError(rename),
    "cannot rename /a -> /b: cross-device link not permitted (EXDEV)",
  );
  // A read through a file descriptor carries no path; the rest is still one line.
  assert.equal(
    describeSystemError(systemError("EISDIR", "illegal operation on a directory", "read")),
    "cannot read: illegal operation on a directory (EISDIR)",
  );
});

test("writeFileAtomic: a failed write (no space left) removes the temp file and names the file", (t) => {
  const file = path.join(root, "full", "page.html");
  const real = fs.writeFileSync;
  // A disk that fills up part-way: some bytes land in the temp file, then ENOSPC.
  t.mock.method(fsModule, "writeFileSync", (target: fs.PathOrFileDescriptor, data: string) => {
    real(target, data.slice(0, 10));
    throw systemError("ENOSPC", "no space left on device", "write");
  });
  assert.throws(() => writeFileAtomic(file, "x".repeat(1000)), {
    message: `cannot write ${file}: no space left on device (ENOSPC)`,
    code: "ENOSPC",
  });
  t.mock.restoreAll();
  assert.deepEqual(tmpFiles(path.dirname(file)), []);
  assert.ok(!fs.existsSync(file));
});

test("writeFileAtomic onto a directory: EISDIR names it and no temp file is left", () => {
  const dir = path.join(root, "taken");
  fs.mkdirSync(dir);
  assert.throws(() => writeFileAtomic(dir, "<html>"), {
    message: `cannot write ${dir}: illegal operation on a directory (EISDIR)`,
    code: "EISDIR",
  });
  assert.deepEqual(tmpFiles(root), []);
  assert.ok(fs.statSync(dir).isDirectory());
});

test("writeFileAtomic and mkdirp under a regular file name the file in the way", () => {
  const file = path.join(root, "plain.txt");
  fs.writeFileSync(file, "");
  assert.throws(() => writeFileAtomic(path.join(file, "sub", "out.json"), "{}"), {
    message: `cannot create directory ${path.join(file, "sub")}: ${file} is a file, not a directory (ENOTDIR)`,
    code: "ENOTDIR",
  });
  assert.throws(() => mkdirp(file), {
    message: `cannot create directory ${file}: a file of that name exists (EEXIST)`,
  });
  assert.deepEqual(tmpFiles(root), []);
});

test("readJson: a missing file and a directory are errors naming the path and the code", () => {
  const missing = path.join(root, "missing.json");
  assert.throws(() => readJson(missing), {
    message: `cannot read ${missing}: no such file or directory (ENOENT)`,
    code: "ENOENT",
  });
  assert.throws(() => readJson(root), {
    message: `cannot read ${root}: illegal operation on a directory (EISDIR)`,
  });
});
