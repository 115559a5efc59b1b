import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { gunzipSync } from "node:zlib";
import { parse, UsageError } from "../../src/cli/args";
import { mine, mineOptions } from "../../src/cli/data_commands";
import { codeTokens } from "../../src/data/code_tokens";
import { subjectFilter } from "../../src/data/commit_filters";
import { partitionOfPath } from "../../src/data/function_filters";
import { licenseOfText } from "../../src/data/license";
import { mineReport, mineRepos } from "../../src/data/mine";
import { LANGS } from "../../src/data/langs";
import { tinyRepo } from "./tiny_repo";

// Hand-written sources at HEAD of the test repository.
const UTIL_V1 = `"""Helpers for totals."""


def total(values):
    """Return the sum of the given values, rounded.
    """
    result = 0
    for v in values:
        result += v
    return round(result)


def undocumented(x):
    return x * 2


class Greeter:
    def __init__(self, name):
        """Create a greeter for one name only."""
        self.name = name

    def greet(self, punctuation="!"):
        '''Build the greeting text for this person.'''
        text = "Hello, " + self.name
        return text + punctuation


def tiny():
    """Return nothing useful at all."""


def fetch_page(url):
    """Fetch the page at https://example.com quickly."""
    return url
`;
const UTIL_V2 = UTIL_V1.replace("return round(result)", "return round(result, 2)");
const UTIL_V3 = UTIL_V2.replace("rounded.\n", "rounded.\n\n    :param values: numbers to add\n");

const GO_V1 = `package demo

// Server answers requests on one port.
type Server struct {
\tport int
}

// Start opens the port and serves
// until the context is done.
func (s *Server) Start(opts map[string]interface{}) error {
\treturn nil
}

func helper() int {
\treturn 1
}

// String formats the server for logs.
func (s *Server) String() string {
\treturn "server"
}
`;
const GO_V3 = GO_V1.replace(
  "\treturn nil\n}",
  "\tif s.port == 0 {\n\t\treturn nil\n\t}\n\treturn nil\n}",
);

const RUBY_V1 = `module Demo
  # Greets people by name.
  class Greeter
    # Says hello to the given person
    # and returns the text.
    def greet(name)
      "Hi, #{name}"
    end

    def initialize
      @count = 0
    end
  end
end
`;
const RUBY_V2 = RUBY_V1.replace("Hi,", "Hello,");

const JS_V1 = `/**
 * Adds two numbers together safely.
 * @param {number} a first
 */
function add(a, b) {
  const re = /[{]/g;
  return a + b;
}

class Counter {
  /** Moves the counter forward by one step. */
  increment() {
    this.n = this.n + 1;
    return this.n;
  }
}

// Not a doc comment.
const twice = (x) => {
  return x * 2;
};
`;
const JS_V2 = JS_V1.replace("this.n = this.n + 1;", "this.n += 1;");

const JAVA = `package demo;

public class Calc {
  /**
   * Multiplies both values and returns the product.
   */
  @Override
  public int times(int a, int b) throws IllegalStateException {
    int r = a * b;
    return r;
  }

  /** Returns a label for debugging output. */
  public String toString() {
    return "calc";
  }
}
`;

const PHP = `<?php
namespace Demo;

class Store
{
    /**
     * Saves one item under the given key.
     *
     * @param string $key
     */
    public function save(string $key, $item): void
    {
        $this->items[$key] = $item;
    }

    /**
     * Builds an empty store for the items.
     */
    public function __construct()
    {
        $this->items = [];
    }
}
`;

const TEST_PY = `def test_total():
    """Check that totals are rounded properly."""
    assert total([1]) == 1
`;

const MIT =
  "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n";
const LATIN_V1 = Buffer.from("# caf\xe9\n", "latin1");
const LATIN_V2 = Buffer.from("# caf\xe9s\n", "latin1");
const BIG = "X = 1\n";
const BIG_V2 = "X = 1\n" + "Y = 2\n".repeat(1200);

interface TestRepo {
  dir: string;
  head: string;
  shas: Record<string, string>;
}

/** Build the test repository: commit `name` writes `files` (null deletes) with `subject`. */
function buildRepo(root: string): TestRepo {
  const dir = path.join(root, "demo-repo");
  fs.mkdirSync(dir, { recursive: true });
  let clock = 1_700_000_000;
  const run = (args: string[], author = "Dev <dev@example.com>") => {
    const [name, email] = /^(.*) <(.*)>$/.exec(author)!.slice(1);
    const date = `${clock++} +0000`;
    return execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_AUTHOR_NAME: name,
        GIT_AUTHOR_EMAIL: email,
        GIT_COMMITTER_NAME: name,
        GIT_COMMITTER_EMAIL: email,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    })
      .toString()
      .trim();
  };
  const shas: Record<string, string> = {};
  const commit = (
    key: string,
    messageArgs: string[],
    files: Record<string, string | Buffer | null>,
    author?: string,
  ) => {
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(dir, file);
      if (content === null) fs.rmSync(full);
      else {
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, content);
      }
    }
    run(["add", "-A"]);
    run(["commit", "-q", ...messageArgs], author);
    shas[key] = run(["rev-parse", "HEAD"]);
  };
  run(["init", "-q", "-b", "main"]);
  commit("c1", ["-m", "Add the first version of the demo"], {
    LICENSE: MIT,
    "README.md": "# Demo\n",
    "pkg/util.py": UTIL_V1,
    "pkg/extra.py": "DEFAULT = 1\n",
    "pkg/big.py": BIG,
    "pkg/latin.py": LATIN_V1,
    "pkg/empty.py": "",
    "pkg/old.py": "OLD = 1\n",
    "tests/test_util.py": TEST_PY,
    "server.go": GO_V1,
    "lib/greeter.rb": RUBY_V1,
    "src/math.js": JS_V1,
    "src/main/java/demo/Calc.java": JAVA,
    "src/Store.php": PHP,
  });
  commit(
    "c2",
    [
      "-m",
      "Fix rounding of totals in the summary helper",
      "-m",
      "Totals were rounded to integers.",
    ],
    {
      "pkg/util.py": UTIL_V2,
    },
  );
  commit("c3", ["-m", "wip"], { "pkg/extra.py": "DEFAULT = 2\n" });
  commit("c4", ["-m", "Update both helpers to use the new names"], {
    "pkg/extra.py": "DEFAULT = 3\n",
    "server.go": GO_V1.replace("one port", "a single port"),
  });
  commit("c5", ["-m", "Update extra.py so the defaults work"], { "pkg/extra.py": "DEFAULT = 4\n" });
  commit("c6", ["-m", "Handle empty input in the server start path"], { "server.go": GO_V3 });
  commit(
    "c7",
    ["-m", "Bump the helper dependency to the latest"],
    { "pkg/extra.py": "DEFAULT = 5\n" },
    "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
  );
  commit("c8", ["-m", "Fix issue 12 in the parser module today"], {
    "pkg/extra.py": "DEFAULT = 6\n",
  });
  commit("c9", ["-m", "Fix the parser"], { "pkg/extra.py": "DEFAULT = 7\n" });
  commit("c10", ["-m", "Some tweaks to the extra module"], { "pkg/extra.py": "DEFAULT = 8\n" });
  commit("c11", ["-m", "Add many constants to the big table here"], { "pkg/big.py": BIG_V2 });
  commit("c12", ["-m", "Change the comment text in the latin module"], {
    "pkg/latin.py": LATIN_V2,
  });
  commit("c13", ["-m", "Fill the empty module with a constant value"], {
    "pkg/empty.py": "X = 1\n",
  });
  commit("c14", ["-m", "Remove the unused module from the package"], { "pkg/old.py": null });
  commit("c15", ["-m", "Update the readme with usage notes"], {
    "README.md": "# Demo\n\nUsage.\n",
  });
  commit("c16", ["-m", "util: Improve the docstring of the total helper"], {
    "pkg/util.py": UTIL_V3,
  });
  run(["checkout", "-q", "-b", "side"]);
  commit("c17", ["-m", "Change the greeting to a friendlier word"], { "lib/greeter.rb": RUBY_V2 });
  run(["checkout", "-q", "main"]);
  commit("c18", ["-m", "Use the compound operator in the counter"], { "src/math.js": JS_V2 });
  run(["merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side"]);
  return { dir, head: run(["rev-parse", "HEAD"]), shas };
}

/** `narrator data mine` argv, parsed as the command line parses it. */
function mineArgs(argv: string[]) {
  const { values, positionals } = parse(mine, argv);
  return mineOptions(values, positionals);
}

function readRows(file: string): Record<string, unknown>[] {
  const text = gunzipSync(fs.readFileSync(file)).toString("utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

/** The partition recipe, written out independently: sha256 of the path, first 32 bits mod 10. */
function expectedPartition(file: string): string {
  const bucket = createHash("sha256").update(file).digest().readUInt32BE(0) % 10;
  return bucket < 8 ? "train" : bucket === 8 ? "valid" : "test";
}

test("mineRepos builds both datasets from a git repository with the expected rows and funnel", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-mine-"));
  try {
    const repo = buildRepo(root);
    const out = path.join(root, "out");
    const result = mineRepos({ repos: [repo.dir], outDir: out });

    const csn = (lang: string, p: string, fields: Record<string, unknown>) => ({
      repo: "demo-repo",
      path: p,
      language: lang,
      sha: repo.head,
      url: "",
      partition: expectedPartition(p),
      ...fields,
    });
    const totalCode =
      'def total(values):\n    """Return the sum of the given values, rounded.\n\n    :param values: numbers to add\n    """\n' +
      "    result = 0\n    for v in values:\n        result += v\n    return round(result, 2)";
    const greetCode =
      "def greet(self, punctuation=\"!\"):\n    '''Build the greeting text for this person.'''\n" +
      '    text = "Hello, " + self.name\n    return text + punctuation';
    assert.deepEqual(readRows(path.join(out, "codesearchnet/python.jsonl.gz")), [
      csn("python", "pkg/util.py", {
        func_name: "total",
        original_string: totalCode,
        code: totalCode,
        code_tokens: [
          "def",
          "total",
          "(",
          "values",
          ")",
          ":",
          "result",
          "=",
          "0",
          "for",
          "v",
          "in",
          "values",
          ":",
        ].concat(["result", "+=", "v", "return", "round", "(", "result", ",", "2", ")"]),
        docstring: "Return the sum of the given values, rounded.\n\n:param values: numbers to add",
        docstring_tokens: [
          "Return",
          "the",
          "sum",
          "of",
          "the",
          "given",
          "values",
          ",",
          "rounded",
          ".",
        ],
      }),
      csn("python", "pkg/util.py", {
        func_name: "Greeter.greet",
        original_string: greetCode,
        code: greetCode,
        code_tokens: [
          "def",
          "greet",
          "(",
          "self",
          ",",
          "punctuation",
          "=",
          '"!"',
          ")",
          ":",
          "text",
          "=",
          '"Hello, "',
        ].concat(["+", "self", ".", "name", "return", "text", "+", "punctuation"]),
        docstring: "Build the greeting text for this person.",
        docstring_tokens: ["Build", "the", "greeting", "text", "for", "this", "person", "."],
      }),
    ]);

    const startCode =
      "func (s *Server) Start(opts map[string]interface{}) error {\n\tif s.port == 0 {\n\t\treturn nil\n\t}\n\treturn nil\n}";
    assert.deepEqual(readRows(path.join(out, "codesearchnet/go.jsonl.gz")), [
      csn("go", "server.go", {
        func_name: "Server.Start",
        original_string: startCode,
        code: startCode,
        code_tokens: [
          "func",
          "(",
          "s",
          "*",
          "Server",
          ")",
          "Start",
          "(",
          "opts",
          "map",
          "[",
          "string",
          "]",
        ]
          .concat([
            "interface",
            "{",
            "}",
            ")",
            "error",
            "{",
            "if",
            "s",
            ".",
            "port",
            "==",
            "0",
            "{",
            "return",
          ])
          .concat(["nil", "}", "return", "nil", "}"]),
        docstring: "// Start opens the port and serves\n// until the context is done.",
        docstring_tokens: [
          "Start",
          "opens",
          "the",
          "port",
          "and",
          "serves",
          "until",
          "the",
          "context",
          "is",
        ].concat(["done", "."]),
      }),
    ]);

    const greetRb = 'def greet(name)\n  "Hello, #{name}"\nend';
    assert.deepEqual(readRows(path.join(out, "codesearchnet/ruby.jsonl.gz")), [
      csn("ruby", "lib/greeter.rb", {
        func_name: "Greeter.greet",
        original_string: greetRb,
        code: greetRb,
        code_tokens: ["def", "greet", "(", "name", ")", '"Hello, #{name}"', "end"],
        docstring: "Says hello to the given person\nand returns the text.",
        docstring_tokens: [
          "Says",
          "hello",
          "to",
          "the",
          "given",
          "person",
          "and",
          "returns",
          "the",
          "text",
          ".",
        ],
      }),
    ]);

    const addCode = "function add(a, b) {\n  const re = /[{]/g;\n  return a + b;\n}";
    const incCode = "increment() {\n  this.n += 1;\n  return this.n;\n}";
    assert.deepEqual(readRows(path.join(out, "codesearchnet/javascript.jsonl.gz")), [
      csn("javascript", "src/math.js", {
        func_name: "add",
        original_string: addCode,
        code: addCode,
        code_tokens: [
          "function",
          "add",
          "(",
          "a",
          ",",
          "b",
          ")",
          "{",
          "const",
          "re",
          "=",
          "/",
          "[",
          "{",
          "]",
          "/",
        ].concat(["g", ";", "return", "a", "+", "b", ";", "}"]),
        docstring: "Adds two numbers together safely.\n@param {number} a first",
        docstring_tokens: ["Adds", "two", "numbers", "together", "safely", "."],
      }),
      csn("javascript", "src/math.js", {
        func_name: "Counter.increment",
        original_string: incCode,
        code: incCode,
        code_tokens: [
          "increment",
          "(",
          ")",
          "{",
          "this",
          ".",
          "n",
          "+=",
          "1",
          ";",
          "return",
          "this",
          ".",
          "n",
        ].concat([";", "}"]),
        docstring: "Moves the counter forward by one step.",
        docstring_tokens: ["Moves", "the", "counter", "forward", "by", "one", "step", "."],
      }),
    ]);

    // Annotations belong to the method, as in CodeSearchNet's Java rows.
    const timesCode =
      "@Override\npublic int times(int a, int b) throws IllegalStateException {\n  int r = a * b;\n  return r;\n}";
    assert.deepEqual(readRows(path.join(out, "codesearchnet/java.jsonl.gz")), [
      csn("java", "src/main/java/demo/Calc.java", {
        func_name: "Calc.times",
        original_string: timesCode,
        code: timesCode,
        code_tokens: [
          "@",
          "Override",
          "public",
          "int",
          "times",
          "(",
          "int",
          "a",
          ",",
          "int",
          "b",
          ")",
          "throws",
        ].concat([
          "IllegalStateException",
          "{",
          "int",
          "r",
          "=",
          "a",
          "*",
          "b",
          ";",
          "return",
          "r",
          ";",
          "}",
        ]),
        docstring: "Multiplies both values and returns the product.",
        docstring_tokens: ["Multiplies", "both", "values", "and", "returns", "the", "product", "."],
      }),
    ]);

    const saveCode =
      "public function save(string $key, $item): void\n{\n    $this->items[$key] = $item;\n}";
    assert.deepEqual(readRows(path.join(out, "codesearchnet/php.jsonl.gz")), [
      csn("php", "src/Store.php", {
        func_name: "Store.save",
        original_string: saveCode,
        code: saveCode,
        code_tokens: [
          "public",
          "function",
          "save",
          "(",
          "string",
          "$key",
          ",",
          "$item",
          ")",
          ":",
          "void",
          "{",
        ].concat(["$this", "->", "items", "[", "$key", "]", "=", "$item", ";", "}"]),
        docstring: "Saves one item under the given key.\n\n@param string $key",
        docstring_tokens: ["Saves", "one", "item", "under", "the", "given", "key", "."],
      }),
    ]);

    const cpf = (
      key: string,
      file: string,
      oldC: string,
      newC: string,
      subject: string,
      message: string,
      lang: string,
    ) => ({
      commit: repo.shas[key],
      old_file: file,
      new_file: file,
      old_contents: oldC,
      new_contents: newC,
      subject,
      message,
      lang,
      license: "mit",
      repos: "demo-repo",
    });
    assert.deepEqual(readRows(path.join(out, "commitpackft/python.jsonl.gz")), [
      cpf("c16", "pkg/util.py", UTIL_V2, UTIL_V3, "Improve the docstring of the total helper",
        "util: Improve the docstring of the total helper\n", "Python"),
      cpf("c2", "pkg/util.py", UTIL_V1, UTIL_V2, "Fix rounding of totals in the summary helper",
        "Fix rounding of totals in the summary helper\n\nTotals were rounded to integers.\n", "Python"),
    ]); // prettier-ignore
    assert.deepEqual(readRows(path.join(out, "commitpackft/go.jsonl.gz")), [
      cpf("c6", "server.go", GO_V1.replace("one port", "a single port"), GO_V3,
        "Handle empty input in the server start path", "Handle empty input in the server start path\n", "Go"),
    ]); // prettier-ignore
    assert.deepEqual(readRows(path.join(out, "commitpackft/ruby.jsonl.gz")), [
      cpf("c17", "lib/greeter.rb", RUBY_V1, RUBY_V2, "Change the greeting to a friendlier word",
        "Change the greeting to a friendlier word\n", "Ruby"),
    ]); // prettier-ignore
    assert.deepEqual(readRows(path.join(out, "commitpackft/javascript.jsonl.gz")), [
      cpf("c18", "src/math.js", JS_V1, JS_V2, "Use the compound operator in the counter",
        "Use the compound operator in the counter\n", "JavaScript"),
    ]); // prettier-ignore
    // No rows, no file: an empty file would read as an empty dataset.
    assert.ok(!fs.existsSync(path.join(out, "commitpackft/java.jsonl.gz")));
    assert.ok(!fs.existsSync(path.join(out, "commitpackft/php.jsonl.gz")));
    assert.deepEqual(result.empty, ["commitpackft/java", "commitpackft/php"]);

    assert.deepEqual(result.commits, {
      commits: 19,
      merge: 1,
      "not exactly one file": 2,
      "not a modification": 1,
      "other language": 1,
      "to language filters": 14,
    });
    assert.deepEqual(result.commitpackft, {
      python: {
        commits: 11,
        WIP: 1,
        "names the file": 1,
        "bot author": 1,
        "issue N": 1,
        "under 5 words": 1,
        "no leading verb": 1,
        "over 6000 bytes": 1,
        "not UTF-8": 1,
        "empty contents": 1,
        kept: 2,
      },
      java: { kept: 0 },
      javascript: { commits: 1, kept: 1 },
      php: { kept: 0 },
      ruby: { commits: 1, kept: 1 },
      go: { commits: 1, kept: 1 },
    });
    assert.deepEqual(result.codesearchnet, {
      python: {
        files: 6,
        "test/vendor/docs/example path": 1,
        functions: 6,
        "no docstring": 1,
        "constructor or special method": 1,
        "under 3 lines": 1,
        "summary has a URL": 1,
        kept: 2,
      },
      java: { files: 1, functions: 2, "constructor or special method": 1, kept: 1 },
      javascript: { files: 1, functions: 3, "no docstring": 1, kept: 2 },
      php: { files: 1, functions: 2, "constructor or special method": 1, kept: 1 },
      ruby: { files: 1, functions: 2, "no docstring": 1, kept: 1 },
      go: {
        files: 1,
        functions: 3,
        "no docstring": 1,
        "constructor or special method": 1,
        kept: 1,
      },
    });
    assert.equal(result.files.length, 10);

    // Only the languages asked for are written, and the CLI reports the funnel.
    const out2 = path.join(root, "out2");
    const lines = mineReport(
      mineArgs(["--out", out2, "--languages", "go", "--max-file-bytes", "20", repo.dir]),
    );
    assert.ok(!fs.existsSync(out2)); // both got no rows
    assert.ok(
      lines.includes("no rows, so no file: codesearchnet/go, commitpackft/go"),
      lines.join("\n"),
    );
    assert.ok(
      lines.includes("commitpackft/go: commits 1, over 20 bytes 1, kept 0"),
      lines.join("\n"),
    );
    assert.ok(lines.includes("codesearchnet/go: files 1, functions 3, no docstring 1, constructor or special method 1, over 20 bytes 1, kept 0"), lines.join("\n")); // prettier-ignore
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("subjectFilter applies the CommitPackFT subject recipe", () => {
  const human = "Ann <ann@example.com>";
  const cases: [string, string | undefined][] = [
    ["Add a retry loop to the fetcher", undefined],
    ["Fix crash when the list is empty", undefined],
    ["add a retry loop to the fetcher", "no leading verb"],
    ["Fixed a crash when the list is empty", "no leading verb"],
    ["Add retry loop", "under 5 words"],
    ["Fix #12: crash when the list is empty", "has '#'"],
    ["Revert 3f2a9c1d because it broke things", "sha-like hex"],
    ["Merge the two helper modules into one", "Merge"],
    ["Add WIP version of the new parser", "WIP"],
    ["Update the changelog for 2.4.1 release", "version number"],
    ["Fix bug 1234 in the retry loop again", "issue N"],
    ["Update fetch.py for the new retry loop", "names the file"],
    ["Remove the deprecated defaced helper function", undefined],
  ];
  for (const [subject, reason] of cases) {
    assert.equal(subjectFilter(subject, human, "src/fetch.py"), reason, subject);
  }
  assert.equal(
    subjectFilter("Add a retry loop to the fetcher", "renovate[bot] <bot@renovateapp.com>", "a.py"),
    "bot author",
  );
});

test("codeTokens keeps string literals whole and drops comments", () => {
  assert.deepEqual(codeTokens('x = "a # b"  # note\ny **= 2', "python"), [
    "x",
    "=",
    '"a # b"',
    "y",
    "**=",
    "2",
  ]);
  assert.deepEqual(codeTokens("a === b // c\n/* d */ f(`t ${x}`)", "javascript"), [
    "a",
    "===",
    "b",
    "f",
    "(",
    "`t ${x}`",
    ")",
  ]);
  assert.deepEqual(codeTokens("def ok?(x) x.nil? end", "ruby"), [
    "def",
    "ok?",
    "(",
    "x",
    ")",
    "x",
    ".",
    "nil?",
    "end",
  ]);
});

test("licenseOfText recognises common license texts", () => {
  assert.equal(licenseOfText("Apache License\n Version 2.0, January 2004"), "apache-2.0");
  assert.equal(
    licenseOfText('Licensed under the Apache License, Version 2.0 (the "License")'),
    "apache-2.0",
  );
  assert.equal(licenseOfText(MIT), "mit");
  const bsd = "Redistribution and use in source and binary forms, with or without modification";
  assert.equal(licenseOfText(bsd), "bsd-2-clause");
  assert.equal(
    licenseOfText(bsd + "\n3. Neither the name of the copyright holder"),
    "bsd-3-clause",
  );
  assert.equal(licenseOfText("All rights reserved."), "unknown");
});

test("partitionOfPath splits paths about 80/10/10", () => {
  const counts: Record<string, number> = { train: 0, valid: 0, test: 0 };
  for (let i = 0; i < 2000; i++) counts[partitionOfPath(`src/file${i}.py`)]++;
  assert.ok(counts.train > 1500 && counts.train < 1700, JSON.stringify(counts));
  assert.ok(counts.valid > 140 && counts.valid < 260, JSON.stringify(counts));
  assert.ok(counts.test > 140 && counts.test < 260, JSON.stringify(counts));
});

/** A dataset file of an earlier run: `n` hand-written rows. */
function earlierFile(file: string, n: number): Buffer {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const gz = zlib.gzipSync(Array.from({ length: n }, (_, i) => `{"row":${i}}\n`).join(""));
  fs.writeFileSync(file, gz);
  return gz;
}

test("mine refuses to replace dataset files without --force, and never writes an empty one", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-mine-force-"));
  try {
    const repo = tinyRepo(root);
    const out = path.join(root, "out");
    const csnFile = path.join(out, "codesearchnet", "python.jsonl.gz");
    const cpfFile = path.join(out, "commitpackft", "python.jsonl.gz");
    const csnBefore = earlierFile(csnFile, 60);
    const cpfBefore = earlierFile(cpfFile, 3);

    assert.throws(
      () => mineRepos({ repos: [repo], outDir: out, languages: ["python"] }),
      (e: Error) => {
        assert.equal(
          e.message,
          `mine: ${csnFile}, ${cpfFile} already exist; give --force to replace them (or another --out)`,
        );
        return true;
      },
    );
    assert.deepEqual(fs.readFileSync(csnFile), csnBefore);
    assert.deepEqual(fs.readFileSync(cpfFile), cpfBefore);
    // Files of other languages are no obstacle: only those this run could write count.
    assert.deepEqual(mineRepos({ repos: [repo], outDir: out, languages: ["go"] }).files, []);

    const lines = mineReport(mineArgs([`--out=${out}`, "--languages=python", "--force", repo]));
    assert.equal(readRows(csnFile).length, 1);
    assert.ok(!fs.existsSync(cpfFile), "an earlier run's rows must not stay behind");
    assert.ok(lines.includes(`wrote ${csnFile} (1 rows)`), lines.join("\n"));
    assert.ok(lines.includes("no rows, so no file: commitpackft/python"), lines.join("\n"));
    assert.ok(lines.includes(`removed ${cpfFile} (an earlier run's; no rows this time)`));

    // A fresh directory: one file, for the one language and dataset that got rows.
    const fresh = path.join(root, "fresh");
    const result = mineRepos({ repos: [repo], outDir: fresh });
    assert.deepEqual(result.files, [path.join(fresh, "codesearchnet", "python.jsonl.gz")]);
    assert.equal(result.empty.length, 11);
    assert.deepEqual(fs.readdirSync(fresh), ["codesearchnet"]);
    assert.deepEqual(fs.readdirSync(path.join(fresh, "codesearchnet")), ["python.jsonl.gz"]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("data mine options: --flag=value and --flag value alike; unknown flags and bad values are named", () => {
  const a = mineArgs([
    "--out=/tmp/o",
    "--languages=python,Go,go",
    "--max-file-bytes=20",
    "--repo=r1",
    "r2",
  ]);
  const b = mineArgs([
    "r2",
    "--out",
    "/tmp/o",
    "--languages",
    "python,Go,go",
    "--max-file-bytes",
    "20",
    "--repo",
    "r1",
  ]);
  assert.deepEqual(a, b);
  assert.deepEqual(a, {
    repos: ["r1", "r2"],
    outDir: "/tmp/o",
    languages: ["python", "go"],
    maxFileBytes: 20,
    force: false,
  });
  assert.equal(mineArgs(["--data-dir=/tmp/d", "r"]).outDir, "/tmp/d");
  assert.equal(mineArgs(["r"]).outDir, "data");
  assert.deepEqual(mineArgs(["--languages=", "r"]).languages, [...LANGS]);
  assert.equal(mineArgs(["--force", "r"]).force, true);
  const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);
  assert.throws(() => mineArgs(["--outdir=/tmp/o", "r"]), usage(/Unknown option '--outdir'/));
  assert.throws(
    () => mineArgs(["--max-file-bytes=0", "r"]),
    usage(/^--max-file-bytes expects a whole number >= 1, got '0'/),
  );
  assert.throws(
    () => mineArgs(["--languages=cobol", "r"]),
    usage(/^--languages: unknown language "cobol"/),
  );
  assert.throws(() => mineArgs(["--out", "/tmp/o"]), usage(/name at least one repository/));
});
