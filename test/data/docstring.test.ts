import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cleanDocstring,
  isTagLine,
  stripCommentMarkers,
  stripInlineMarkup,
  stripPythonDocstring,
  summaryRules,
} from "../../src/data/docstring";

const SUMMARY = "Return the sum of two numbers.";

test("tag lines are dropped after the summary, one rule at a time", () => {
  const tails: Record<string, string> = {
    sphinxParam: ":param a: first number",
    sphinxType: ":type a: int",
    sphinxReturns: ":returns: the sum",
    sphinxRaises: ":raises ValueError: when negative",
    javadocParam: "@param a first number",
    javadocReturn: "@return the sum",
    javadocThrows: "@throws IllegalArgumentException when negative",
    doxygenParam: "\\param a first number",
    versionadded: ".. versionadded:: 2.0",
    doctest: ">>> add(1, 2)",
  };
  for (const [rule, tail] of Object.entries(tails)) {
    // Directly after the summary line (no blank line), and after a blank line.
    assert.equal(cleanDocstring(`${SUMMARY}\n${tail}`), SUMMARY, `${rule}, same paragraph`);
    assert.equal(
      cleanDocstring(`${SUMMARY}\n\n${tail}\nmore text`),
      SUMMARY,
      `${rule}, next paragraph`,
    );
  }
});

test("Google and NumPy sections end the summary", () => {
  assert.equal(cleanDocstring(`${SUMMARY}\nArgs:\n    a: first\nReturns:\n    the sum`), SUMMARY);
  assert.equal(cleanDocstring(`${SUMMARY}\nReturns:\n    the sum`), SUMMARY);
  assert.equal(cleanDocstring(`${SUMMARY}\nParameters\n----------\na : int`), SUMMARY);
  // "Returns" without a colon or an underline is an ordinary word starting a sentence.
  assert.equal(
    cleanDocstring("Compute a value.\nReturns\nnothing else."),
    "Compute a value. Returns nothing else.",
  );
  assert.equal(isTagLine("Parameters", "----------"), true);
  assert.equal(isTagLine("Parameters", "a : int"), false);
});

test("the summary is the first paragraph, lines joined by single spaces", () => {
  assert.equal(
    cleanDocstring("Return the sum of two\n   numbers, as an int.\n\nMore detail here."),
    "Return the sum of two numbers, as an int.",
  );
  assert.equal(
    cleanDocstring("\n\n  Leading blank lines are skipped here.\n"),
    "Leading blank lines are skipped here.",
  );
  // A Javadoc <p> line starts a new paragraph even without a blank line.
  assert.equal(
    cleanDocstring("First paragraph of the docs.\n<p>Second paragraph."),
    "First paragraph of the docs.",
  );
});

test("leading tag blocks, with their indented bodies, are skipped before the summary", () => {
  assert.equal(cleanDocstring("@deprecated use other\n\nReturn the sum of two numbers."), SUMMARY);
  assert.equal(
    cleanDocstring(
      ".. versionchanged:: 8.5\n    Reworked.\n\n    Still part of the note.\n\nReturn the sum of two numbers.",
    ),
    SUMMARY,
  );
  assert.equal(cleanDocstring(":param a: only fields here\n:returns: nothing"), "");
  assert.equal(cleanDocstring("{@inheritDoc}"), "");
});

test("comment markers are removed only when every line carries them", () => {
  assert.equal(
    stripCommentMarkers("// Add adds.\n// It returns the sum."),
    "Add adds.\nIt returns the sum.",
  );
  assert.equal(
    stripCommentMarkers("/**\n * Adds numbers.\n * @return sum\n */"),
    "\nAdds numbers.\n@return sum\n",
  );
  assert.equal(stripCommentMarkers("# Adds numbers.\n# Twice."), "Adds numbers.\nTwice.");
  // A Markdown heading in an already stripped docstring stays.
  assert.equal(
    stripCommentMarkers("Adds numbers.\n\n### Note\ntext"),
    "Adds numbers.\n\n### Note\ntext",
  );
  assert.equal(
    cleanDocstring("// Add returns the sum of a and b.\n//\n// Details."),
    "Add returns the sum of a and b.",
  );
});

test("inline markup is reduced to its text", () => {
  assert.equal(
    stripInlineMarkup("Encodes {@code value} to {@link Writer}."),
    "Encodes value to Writer.",
  );
  assert.equal(
    stripInlineMarkup("See {@link Foo#bar() the bar method} now."),
    "See the bar method now.",
  );
  assert.equal(
    stripInlineMarkup("Calls :func:`print` and :py:meth:`~io.Base.write`."),
    "Calls `print` and `io.Base.write`.",
  );
  assert.equal(stripInlineMarkup("Uses <code>x</code> and <b>y</b>."), "Uses x and y.");
  assert.equal(cleanDocstring("\\brief Return the sum of two numbers.\n\\param a first"), SUMMARY);
});

test("each summary filter: rows that pass and rows that fail", () => {
  const rules = Object.fromEntries(summaryRules().map((r) => [r.stage, r.keep]));
  const cases: [string, string, boolean][] = [
    ["summary_min_chars", "a".repeat(30), true],
    ["summary_min_chars", "a".repeat(29), false],
    ["summary_capitalised", "Returns the value.", true],
    ["summary_capitalised", "Élève the value.", true],
    ["summary_capitalised", "returns the value.", false],
    ["summary_capitalised", "`x` is returned.", false],
    ["summary_end_punctuation", "Ends with a period.", true],
    ["summary_end_punctuation", "Ends with a bang!", true],
    ["summary_end_punctuation", "Ends with a question?", true],
    ["summary_end_punctuation", "Ends with nothing", false],
    ["summary_end_punctuation", "Ends with a colon:", false],
    ["summary_not_generic", "Return the see-saw position.", true],
    ["summary_not_generic", "Seeds the generator with a value.", true],
    ["summary_not_generic", "See the helper module for details.", false],
    ["summary_not_generic", "Refer to the parent class for details.", false],
  ];
  for (const [stage, summary, pass] of cases)
    assert.equal(rules[stage](summary), pass, `${stage}: ${summary}`);
  assert.equal(summaryRules(10)[0].keep("ten chars."), true);
  assert.equal(summaryRules(10)[0].keep("nine char"), false);
});

test("a Python function's docstring is removed from its code", () => {
  assert.equal(
    stripPythonDocstring('def f(x):\n    """Return x."""\n    return x'),
    "def f(x):\n    return x",
  );
  assert.equal(
    stripPythonDocstring(
      "def f(\n    x: int,\n) -> int:\n    # note\n    '''Return x.\n\n    More.\n    '''\n    return x",
    ),
    "def f(\n    x: int,\n) -> int:\n    # note\n    return x",
  );
  assert.equal(
    stripPythonDocstring('async def f():\n    r"Raw doc."\n    return 1'),
    "async def f():\n    return 1",
  );
  // Escaped quotes do not close the string.
  assert.equal(
    stripPythonDocstring('def f():\n    "Say \\"hi\\"."\n    return 1'),
    "def f():\n    return 1",
  );
  // No docstring: unchanged.
  const plain = "def f(x):\n    y = '''not a docstring'''\n    return y";
  assert.equal(stripPythonDocstring(plain), plain);
});
