import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { corpusPairs, evaluationHashes } from "../../src/corpus/pairs";

// Hand-written corpus files and evaluation rows; every count below is worked out by hand.
const CORE = `"""Invoices."""


def total_unpaid(invoices):
    """Sum the amounts of the invoices that are not yet paid."""
    open_ = [i for i in invoices if not i.paid]
    return sum(i.amount for i in open_)


def overdue(invoices, today):
    """List the invoices whose due date has already passed."""
    late = [i for i in invoices if i.due < today]
    return late


def bump(x):
    """Add one to x."""
    y = x + 1
    return y


def plain(x):
    y = x * 2
    return y


def helper(rows):
    """Count the rows that hold at least one value."""
    full = [r for r in rows if r]
    return len(full)
`;
// The same total_unpaid, indented differently: a repeat.
const COPY = `class Books:
    def total_unpaid(invoices):
        """Sum the amounts of the invoices that are not yet paid."""
        open_ = [i for i in invoices if not i.paid]
        return sum(i.amount for i in open_)
`;
const TEST_FILE = `def test_total():
    """Check that the totals of the invoices are right."""
    assert total_unpaid([]) == 0
    assert True
`;
// Evaluation rows: overdue's code without its docstring (the model input), re-wrapped.
const OVERDUE_INPUT =
  "def overdue(invoices, today):\n  late = [i for i in invoices\n    if i.due < today]\n  return late";
const TEST_ROW_CODE = "def unrelated():\n    return 42";
const TRAIN_ROW_CODE = "def helper(rows):\n    full = [r for r in rows if r]\n    return len(full)";

const gz = (lines: object[]) => gzipSync(lines.map((l) => JSON.stringify(l) + "\n").join(""));
const hash = (code: string) =>
  createHash("sha256").update(code.replace(/\s+/g, " ").trim()).digest("hex");

function csnRow(code: string, partition: string) {
  return {
    repo: "demo/eval",
    path: "eval.py",
    func_name: "f",
    language: "python",
    code,
    docstring: "Evaluate something for the test split.",
    partition,
  };
}

test("corpus pairs: the funnel of hand-written files, and no pair hashes like an evaluation function", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "narrator-pairs-"));
  try {
    const corpus = path.join(root, "corpus");
    const data = path.join(root, "data");
    const out = path.join(root, "out");
    fs.mkdirSync(corpus);
    fs.mkdirSync(path.join(data, "codesearchnet"), { recursive: true });
    fs.writeFileSync(
      path.join(corpus, "python.train.jsonl.gz"),
      gz([
        { path: "ledger/core.py", package: "npm:ledger", text: CORE },
        { path: "books/books.py", package: "debian:books", text: COPY },
        { path: "tests/test_core.py", package: "npm:ledger", text: TEST_FILE },
      ]),
    );
    // Held-out corpus files are no source of pairs.
    fs.writeFileSync(
      path.join(corpus, "python.val.jsonl.gz"),
      gz([
        { path: "held/out.py", package: "npm:held", text: CORE.replace(/total_unpaid/g, "due") },
      ]),
    );
    fs.writeFileSync(
      path.join(data, "codesearchnet", "python.jsonl.gz"),
      gz([
        csnRow(OVERDUE_INPUT, "valid"),
        csnRow(TEST_ROW_CODE, "test"),
        csnRow(TRAIN_ROW_CODE, "train"),
      ]),
    );

    const evaluation = await evaluationHashes(data, ["python"]);
    assert.deepEqual(evaluation, new Set([hash(OVERDUE_INPUT), hash(TEST_ROW_CODE)]));

    const result = await corpusPairs({
      corpusDir: corpus,
      dataDir: data,
      outDir: out,
      languages: ["python"],
    });
    assert.deepEqual(result.funnels.python, {
      files: 3,
      "test/vendor/docs/example path": 1,
      functions: 6, // five in core.py, one in books.py
      "no docstring": 1, // plain
      "constructor or special method": 0,
      "under 3 lines": 0,
      "over 6000 bytes": 0,
      "summary outside 3-256 tokens": 0,
      "summary has a URL": 0,
      "summary not ASCII": 0,
      clean_docstring: 0,
      summary_min_chars: 1, // "Add one to x." has 13 characters
      summary_capitalised: 0,
      summary_end_punctuation: 0,
      summary_not_generic: 0,
      "in an evaluation split": 1, // overdue
      duplicate: 1, // Books.total_unpaid
      kept: 2, // total_unpaid, helper (a train row of the data is no evaluation function)
    });
    const rows = gunzipSync(fs.readFileSync(path.join(out, "codesearchnet", "python.jsonl.gz")))
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((r) => [r.repo, r.path, r.func_name, r.partition, r.docstring]),
      [
        ["npm:ledger", "ledger/core.py", "total_unpaid", "train", "Sum the amounts of the invoices that are not yet paid."], // prettier-ignore
        ["npm:ledger", "ledger/core.py", "helper", "train", "Count the rows that hold at least one value."], // prettier-ignore
      ],
    );
    // The model input of every pair (its code without the docstring line), hashed independently.
    const inputs = rows.map((r) =>
      r.code
        .split("\n")
        .filter((l: string) => !l.trim().startsWith('"""'))
        .join("\n"),
    );
    for (const input of inputs) assert.ok(!evaluation.has(hash(input)), input);
    assert.equal(inputs[1], TRAIN_ROW_CODE);

    await assert.rejects(
      corpusPairs({ corpusDir: corpus, dataDir: data, outDir: out, languages: ["python"] }),
      /already exist; give --force to replace/,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
