import { test } from "node:test";
import assert from "node:assert/strict";
import { closeNames, findFunction } from "../../src/source/find_function";
import { listFunctions } from "../../src/source/functions";
import type { SourceLang } from "../../src/source/languages";

// Every snippet and every expected span below is written by hand; the spans are cut from the
// snippets by line, so a scanner that stops early or late fails. A function's text is its code as
// datasets hold it: the lines after the first dedented by the declaration line's indentation.
const lines = (...l: string[]) => l.join("\n");

function check(lang: SourceLang, source: string, expected: Record<string, string>): void {
  const found = listFunctions(source, lang);
  assert.deepEqual(
    found.map((f) => f.qualifiedName),
    Object.keys(expected),
    `${lang}: functions found`,
  );
  for (const f of found)
    assert.equal(f.text, expected[f.qualifiedName], `${lang}: ${f.qualifiedName}`);
}

const PYTHON = lines(
  "import re",
  "",
  "@cache",
  "def outer(x):",
  '    """Says } and def fake(): inside a docstring.',
  "def not_a_function():",
  '"""',
  '    pattern = re.compile(r"def \\w+")  # def in a string',
  "    count = 0  # (an unbalanced bracket in a comment",
  "",
  "    def inner(y):",
  "        return y + 1",
  "# a comment at column 0 inside the body",
  "    return inner(x)",
  "",
  "",
  "class Shape:",
  "    def area(self): return 0",
  "    async def load(self,",
  "                   path):",
  "        data = (1,",
  "    2)",
  "        return data",
  "",
  "def after(): pass",
  "",
);

test("python: by indentation; docstrings, strings, comments and continuation lines do not end a body", () => {
  check("python", PYTHON, {
    outer: lines(
      "def outer(x):",
      '    """Says } and def fake(): inside a docstring.',
      "def not_a_function():",
      '"""',
      '    pattern = re.compile(r"def \\w+")  # def in a string',
      "    count = 0  # (an unbalanced bracket in a comment",
      "",
      "    def inner(y):",
      "        return y + 1",
      "# a comment at column 0 inside the body",
      "    return inner(x)",
    ),
    "outer.inner": lines("def inner(y):", "    return y + 1"),
    "Shape.area": "def area(self): return 0",
    "Shape.load": lines(
      "async def load(self,",
      "               path):",
      "    data = (1,",
      "2)",
      "    return data",
    ),
    after: "def after(): pass",
  });
  const f = findFunction(PYTHON, "python", "inner", "shapes.py");
  assert.equal(f.startLine, 11);
  assert.equal(f.endLine, 12);
});

const JAVA = lines(
  "package demo;",
  "",
  "/** A class with { in its doc. */",
  "public class Counter {",
  '    private String open = "{";',
  "    private char close = '}';",
  "",
  "    @Override",
  "    public String toString() {",
  "        // a } in a comment",
  '        return open + "}" + close;',
  "    }",
  "",
  "    public <T> int count(List<T> items) throws IOException {",
  "        int n = 0;",
  "        for (T item : items) { if (item != null) { n++; } }",
  '        String block = """',
  "            } not code {",
  '            """;',
  "        return n;",
  "    }",
  "",
  "    static class Inner {",
  "        void run() { Runnable r = new Runnable() { public void run() { } }; }",
  "    }",
  "}",
);

test("java: braces in strings, chars, comments and text blocks; annotations; nested and anonymous classes", () => {
  check("java", JAVA, {
    "Counter.toString": lines(
      "@Override",
      "public String toString() {",
      "    // a } in a comment",
      '    return open + "}" + close;',
      "}",
    ),
    "Counter.count": lines(
      "public <T> int count(List<T> items) throws IOException {",
      "    int n = 0;",
      "    for (T item : items) { if (item != null) { n++; } }",
      '    String block = """',
      "        } not code {",
      '        """;',
      "    return n;",
      "}",
    ),
    "Counter.Inner.run": "void run() { Runnable r = new Runnable() { public void run() { } }; }",
    "Counter.Inner.run.run": "public void run() { }",
  });
  assert.equal(findFunction(JAVA, "java", "Inner.run", "Counter.java").startLine, 24);
  assert.throws(
    () => findFunction(JAVA, "java", "run", "Counter.java"),
    /Counter\.java: 2 functions match 'run': Counter\.Inner\.run \(line 24\), Counter\.Inner\.run\.run \(line 24\)/,
  );
});

const JS = lines(
  "const re = /[}]/g; // a regex with a brace",
  "export async function load(url) {",
  "  const t = `${url} } ${ { a: 1 }.a }`;",
  '  return t.replace(re, "}");',
  "}",
  "",
  "class Cart extends Base {",
  "  static of(items) { return new Cart(items); }",
  "  total() {",
  "    return this.items.reduce((s, i) => s + i.price, 0);",
  "  }",
  "  onClick = (event) => {",
  "    this.clicked = event;",
  "  };",
  "}",
  "",
  "const square = (x) => x * x;",
  'module.exports.helper = function () { return "{"; };',
);

test("javascript: regex and template literals with ${} braces; classes, fields, arrows, assigned functions", () => {
  check("javascript", JS, {
    load: lines(
      "export async function load(url) {",
      "  const t = `${url} } ${ { a: 1 }.a }`;",
      '  return t.replace(re, "}");',
      "}",
    ),
    "Cart.of": "static of(items) { return new Cart(items); }",
    "Cart.total": lines("total() {", "  return this.items.reduce((s, i) => s + i.price, 0);", "}"),
    "Cart.onClick": lines("onClick = (event) => {", "  this.clicked = event;", "}"),
    square: "const square = (x) => x * x;",
    "module.exports.helper": 'module.exports.helper = function () { return "{"; }',
  });
});

const PHP = lines(
  "<h1>{ not code</h1>",
  "<?php",
  "namespace App;",
  "",
  "# a comment with function fake() {",
  "class Repo {",
  "    public static function &find(int $id): ?array {",
  '        $q = "SELECT } FROM t WHERE id = {$id}";',
  "        $doc = <<<SQL",
  "        } function nested() {",
  "        SQL;",
  "        return null;",
  "    }",
  "",
  "    abstract protected function todo();",
  "}",
  "",
  "function helper($x) { return fn($y) => $x + $y; }",
  "?>",
  "<p>}</p>",
);

test("php: text outside <?php ?>, # comments, heredocs, return types; bodiless methods are skipped", () => {
  check("php", PHP, {
    "Repo.find": lines(
      "public static function &find(int $id): ?array {",
      '    $q = "SELECT } FROM t WHERE id = {$id}";',
      "    $doc = <<<SQL",
      "    } function nested() {",
      "    SQL;",
      "    return null;",
      "}",
    ),
    helper: "function helper($x) { return fn($y) => $x + $y; }",
  });
});

const GO = lines(
  "package main",
  "",
  "// func Fake() {",
  'import "fmt"',
  "",
  "type Stack[T any] struct{ items []T }",
  "",
  "func (s *Stack[T]) Push(v T) {",
  "\ts.items = append(s.items, v)",
  "}",
  "",
  "func Describe(v interface{}) (string, error) {",
  "\tmsg := `raw } string`",
  '\tfn := func() string { return "}" }',
  '\treturn fmt.Sprintf("%v %s %s", v, msg, fn()), nil',
  "}",
);

test("go: receivers name methods, raw strings, func literals and interface{} types", () => {
  check("go", GO, {
    "Stack.Push": lines("func (s *Stack[T]) Push(v T) {", "\ts.items = append(s.items, v)", "}"),
    Describe: lines(
      "func Describe(v interface{}) (string, error) {",
      "\tmsg := `raw } string`",
      '\tfn := func() string { return "}" }',
      '\treturn fmt.Sprintf("%v %s %s", v, msg, fn()), nil',
      "}",
    ),
  });
  assert.equal(findFunction(GO, "go", "Push", "stack.go").qualifiedName, "Stack.Push");
});

const RUBY = lines(
  "module Shop",
  "  class Cart",
  "    # def fake; end",
  "    def total(items)",
  "      sum = 0",
  "      items.each do |item|",
  "        sum += item.price if item.valid?",
  "      end",
  "      while sum > 100 do sum -= 1 end",
  '      label = "end #{items.map { |i| "end" }.join} def"',
  "      opts = { end: 1, if: :end }",
  "      note = <<~TEXT",
  "        def hidden",
  "        end",
  "      TEXT",
  "      sum",
  "    end",
  "",
  "    def self.empty? = items.none?",
  "",
  "    def name=(value)",
  "      @name = value unless value.nil?",
  "    end",
  "  end",
  "end",
);

test("ruby: def/end nesting through do-blocks, modifiers, loops, interpolation, labels, symbols, heredocs", () => {
  check("ruby", RUBY, {
    "Shop.Cart.total": lines(
      "def total(items)",
      "  sum = 0",
      "  items.each do |item|",
      "    sum += item.price if item.valid?",
      "  end",
      "  while sum > 100 do sum -= 1 end",
      '  label = "end #{items.map { |i| "end" }.join} def"',
      "  opts = { end: 1, if: :end }",
      "  note = <<~TEXT",
      "    def hidden",
      "    end",
      "  TEXT",
      "  sum",
      "end",
    ),
    "Shop.Cart.empty?": "def self.empty? = items.none?",
    "Shop.Cart.name=": lines("def name=(value)", "  @name = value unless value.nil?", "end"),
  });
});

test("a missing function is an error naming the file, the function and close names", () => {
  assert.throws(
    () => findFunction(RUBY, "ruby", "totl", "cart.rb"),
    /^Error: cart\.rb: no function 'totl' \(ruby\); close names: total$/,
  );
  assert.throws(
    () => findFunction(GO, "go", "zzz", "stack.go"),
    /^Error: stack\.go: no function 'zzz' \(go\); its functions: Stack\.Push, Describe$/,
  );
  assert.throws(
    () => findFunction(JAVA, "java", "toString@3", "Counter.java"),
    /no function 'toString' starts on line 3 \(it starts on 8\)/,
  );
  // Hand-counted edit distances: "count" -> "cout" 1 edit; "toString" -> "cout" far.
  assert.deepEqual(closeNames("cout", ["toString", "count", "run"]), ["count"]);
});

const TS = lines(
  "export function parse(text: string): Order;",
  "export function parse(text: string, strict: boolean): Order | null {",
  "  return strict ? null : JSON.parse(text);",
  "}",
  "",
  "interface Store<T> {",
  "  get(id: string): Promise<T | undefined>;",
  "  put(id: string, value: T): { ok: boolean };",
  "  onClose: () => void;",
  "}",
  "type Props = { onClick: (e: Event) => void, label: string };",
  "export function apply(x: number, fn: (n: number) => string, o: { done: () => void }): string {",
  "  return fn(x);",
  "}",
  "",
  "export abstract class Cache<K, V> implements Store<V> {",
  "  abstract get(id: string): Promise<V | undefined>;",
  "  map<U>(fn: (v: V) => U): U[] {",
  "    return [];",
  "  }",
  "  protected static of<K2>(): Cache<K2, string> | null { return null; }",
  "}",
  "",
  "export const handler: Handler<Req> = async (req) => {",
  "  return req.body as unknown as Order;",
  "};",
  "",
  "namespace Util {",
  "  export const clamp = <T,>(x: T, lo: T): T => (x < lo ? lo : x);",
  "}",
);

test("typescript: overload signatures, interface members and function types are no functions; generics, return types, typed declarations, namespaces", () => {
  check("typescript", TS, {
    parse: lines(
      "export function parse(text: string, strict: boolean): Order | null {",
      "  return strict ? null : JSON.parse(text);",
      "}",
    ),
    apply: lines(
      "export function apply(x: number, fn: (n: number) => string, o: { done: () => void }): string {",
      "  return fn(x);",
      "}",
    ),
    "Cache.map": lines("map<U>(fn: (v: V) => U): U[] {", "  return [];", "}"),
    "Cache.of": "protected static of<K2>(): Cache<K2, string> | null { return null; }",
    handler: lines(
      "export const handler: Handler<Req> = async (req) => {",
      "  return req.body as unknown as Order;",
      "}",
    ),
    "Util.clamp": "export const clamp = <T,>(x: T, lo: T): T => (x < lo ? lo : x);",
  });
});

test("tsx: JSX text, attributes and expression containers do not open or close scopes", () => {
  const tsx = lines(
    "export function Card({ title }: Props): JSX.Element {",
    "  return (",
    '    <div title={title} data-x="}" onClick={() => { open(); }}>',
    "      Press the ` key to open it </div>",
    "  );",
    "}",
    "const Row = <T,>(p: { v: T }) => <li>{String(p.v)}</li>;",
  );
  const found = listFunctions(tsx, "typescript", { jsx: true });
  assert.deepEqual(
    found.map((f) => [f.qualifiedName, f.startLine, f.endLine]),
    [
      ["Card", 1, 6],
      ["Row", 7, 7],
    ],
  );
  // Read as plain TypeScript, the backtick in the text opens a template literal to the end.
  assert.notDeepEqual(
    listFunctions(tsx, "typescript").map((f) => [f.qualifiedName, f.startLine, f.endLine]),
    found.map((f) => [f.qualifiedName, f.startLine, f.endLine]),
  );
});

test("java: an enum constant's body is a class, not a method; constructors have no type", () => {
  const source = lines(
    "public enum Policy {",
    "  LOWER(1) {",
    "    @Override public String apply(String s) { return s.toLowerCase(); }",
    "  },",
    "  UPPER(2) {",
    "    @Override public String apply(String s) { return s.toUpperCase(); }",
    "  };",
    "  Policy(int n) { this.n = n; }",
    "  int[] sizes() { return null; }",
    "  Map<K, List<V>> all() { return null; }",
    "}",
  );
  assert.deepEqual(
    listFunctions(source, "java").map((f) => [f.qualifiedName, f.owner, f.startLine]),
    [
      ["Policy.LOWER.apply", "LOWER", 3],
      ["Policy.UPPER.apply", "UPPER", 6],
      ["Policy.Policy", "Policy", 8],
      ["Policy.sizes", "Policy", 9],
      ["Policy.all", "Policy", 10],
    ],
  );
});
