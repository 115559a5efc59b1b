/**
 * Hand-written sources, one per language, with the functions in them stated by hand: the lines
 * each spans, the indentation its declaration line has (its code is those lines with that much
 * removed), its doc comment as dataset rows hold it, and the name a mined row gives it. Functions
 * without a doc comment (or constructors) are listed with `doc: null` or `mined: false`: the
 * scanner finds them, mining drops them.
 */
import type { SourceLang } from "../../src/source/languages";

export interface ExpectedFunction {
  /** `narrator explain --file PATH:query`. */
  query: string;
  /** The mined row's func_name. */
  funcName: string;
  lines: [number, number];
  indent: number;
  doc: string | null;
  /** Whether mining keeps it (documented, at least 3 lines, not a constructor). */
  mined: boolean;
}

export interface Fixture {
  lang: SourceLang;
  path: string;
  source: string;
  functions: ExpectedFunction[];
}

const lines = (...l: string[]) => l.join("\n") + "\n";

const PYTHON = lines(
  '"""Invoices of one customer."""',
  "import decimal",
  "",
  "",
  "class Ledger:",
  '    """All invoices of one customer."""',
  "",
  "    def __init__(self, invoices):",
  "        self.invoices = invoices",
  "",
  "    @property",
  "    def total_unpaid(self):",
  '        """Sum the amounts of the invoices not yet paid.',
  "",
  "        :returns: a Decimal",
  '        """',
  "        return sum(",
  "            (i.amount for i in self.invoices if not i.paid),",
  "            decimal.Decimal(0),",
  "        )",
  "",
  "",
  "def overdue(invoices, today):",
  "    'List the invoices whose due date has passed.'",
  "    late = [i for i in invoices if i.due < today]",
  "    return late",
);

const JAVA = lines(
  "package shop;",
  "",
  "import java.util.List;",
  "",
  "/** Invoices of one customer. */",
  "public class Ledger {",
  "    private final List<Invoice> invoices;",
  "",
  "    Ledger(List<Invoice> invoices) {",
  "        this.invoices = invoices;",
  "    }",
  "",
  "    /**",
  "     * Sums the amounts of the invoices not yet paid.",
  "     *",
  "     * @return the total in cents",
  "     */",
  "    @Deprecated",
  "    public long totalUnpaid() {",
  "        long total = 0;",
  "        for (Invoice i : invoices) {",
  "            if (!i.paid()) { total += i.cents(); }",
  "        }",
  "        return total;",
  "    }",
  "",
  "    /** Lists the invoices whose due date has passed. */",
  "    public List<Invoice> overdue(java.time.LocalDate today) {",
  "        return invoices.stream()",
  "            .filter(i -> i.due().isBefore(today))",
  "            .toList();",
  "    }",
  "}",
);

const JAVASCRIPT = lines(
  '"use strict";',
  "",
  "/**",
  " * Sums the amounts of the invoices not yet paid.",
  " * @param {Invoice[]} invoices all invoices",
  " */",
  "function totalUnpaid(invoices) {",
  "  return invoices",
  "    .filter((i) => !i.paid)",
  "    .reduce((sum, i) => sum + i.amount, 0);",
  "}",
  "",
  "class Ledger {",
  "  constructor(invoices) {",
  "    this.invoices = invoices;",
  "  }",
  "",
  "  /** Lists the invoices whose due date has passed. */",
  "  overdue(today) {",
  "    const late = this.invoices.filter((i) => i.due < today);",
  "    return late;",
  "  }",
  "}",
  "",
  "/** Formats an amount of cents as a price in euros. */",
  "module.exports.price = function (cents) {",
  "  const euros = (cents / 100).toFixed(2);",
  "  return `${euros} EUR`;",
  "}",
);

const PHP = lines(
  "<?php",
  "namespace Shop;",
  "",
  "/**",
  " * Invoices of one customer.",
  " */",
  "class Ledger",
  "{",
  "    public function __construct(private array $invoices)",
  "    {",
  "    }",
  "",
  "    /**",
  "     * Sums the amounts of the invoices not yet paid.",
  "     *",
  "     * @return int the total in cents",
  "     */",
  "    #[\\ReturnTypeWillChange]",
  "    public function totalUnpaid(): int",
  "    {",
  "        $open = array_filter($this->invoices, fn($i) => !$i->paid);",
  "        return array_sum(array_map(fn($i) => $i->cents, $open));",
  "    }",
  "}",
  "",
  "/**",
  " * Lists the invoices whose due date has passed.",
  " */",
  "function overdue(array $invoices, \\DateTimeImmutable $today): array",
  "{",
  "    return array_values(array_filter($invoices, fn($i) => $i->due < $today));",
  "}",
);

const RUBY = lines(
  "# frozen_string_literal: true",
  "",
  "module Shop",
  "  # Invoices of one customer.",
  "  class Ledger",
  "    def initialize(invoices)",
  "      @invoices = invoices",
  "    end",
  "",
  "    # Sums the amounts of the invoices not yet paid.",
  "    #",
  "    # Returns an Integer of cents.",
  "    def total_unpaid",
  "      return if @invoices.empty?",
  "",
  "      @invoices.reject(&:paid?).sum(&:cents)",
  "    end",
  "",
  "    # Lists the invoices whose due date has passed.",
  "    def overdue(today)",
  "      @invoices.select { |i| i.due < today }",
  "    end",
  "  end",
  "end",
);

const GO = lines(
  "package shop",
  "",
  'import "time"',
  "",
  "// Ledger holds the invoices of one customer.",
  "type Ledger struct {",
  "\tinvoices []Invoice",
  "}",
  "",
  "// TotalUnpaid sums the amounts of the invoices not yet paid,",
  "// in cents.",
  "func (l *Ledger) TotalUnpaid() int64 {",
  "\tvar total int64",
  "\tfor _, i := range l.invoices {",
  "\t\tif !i.Paid {",
  "\t\t\ttotal += i.Cents",
  "\t\t}",
  "\t}",
  "\treturn total",
  "}",
  "",
  "// Amounts are in cents.",
  "",
  "// Overdue lists the invoices whose due date has passed.",
  "func Overdue(invoices []Invoice, today time.Time) []Invoice {",
  "\tvar late []Invoice",
  "\tfor _, i := range invoices {",
  "\t\tif i.Due.Before(today) {",
  "\t\t\tlate = append(late, i)",
  "\t\t}",
  "\t}",
  "\treturn late",
  "}",
);

const TYPESCRIPT = lines(
  'import type { Store } from "./store";',
  "",
  "/** Sums the amounts of the invoices not yet paid. */",
  "export function totalUnpaid<T extends Invoice>(invoices: readonly T[]): number {",
  "  return invoices",
  "    .filter((i) => !i.paid)",
  "    .reduce((sum, i) => sum + i.amount, 0);",
  "}",
  "",
  "export class Ledger implements Summary {",
  "  private readonly cache = new Map<string, Invoice>();",
  "",
  "  constructor(private readonly store: Store<Invoice>) {}",
  "",
  "  /** Lists the invoices whose due date has passed. */",
  "  public async overdue(today: Date): Promise<{ late: Invoice[] }> {",
  "    const all = await this.store.all();",
  "    return { late: all.filter((i) => i.due < today) };",
  "  }",
  "",
  "  private onReset = (reason?: string): void => {",
  "    this.cache.clear();",
  "  }",
  "}",
  "",
  "export const price: (cents: number) => string = (cents) =>",
  "  `${(cents / 100).toFixed(2)} EUR`;",
);

const TSX = lines(
  'import React from "react";',
  "",
  "/** Shows the unpaid total of one customer's invoices. */",
  "export function UnpaidTotal({ ledger }: { ledger: Ledger }): JSX.Element {",
  "  const total = ledger.totalUnpaid();",
  "  return (",
  '    <p className="total" onClick={() => { track("total"); }}>',
  "      Don't pay late: {total} } cents",
  "      {ledger.late.map((i) => <span key={i.id}>{i.id}</span>)}",
  "    </p>",
  "  );",
  "}",
  "",
  "const Empty = () => <></>;",
);

export const FIXTURES: readonly Fixture[] = [
  {
    lang: "python",
    path: "shop/ledger.py",
    source: PYTHON,
    functions: [
      { query: "Ledger.__init__", funcName: "Ledger.__init__", lines: [8, 9], indent: 4, doc: null, mined: false }, // prettier-ignore
      { query: "total_unpaid", funcName: "Ledger.total_unpaid", lines: [12, 20], indent: 4, doc: "Sum the amounts of the invoices not yet paid.\n\n:returns: a Decimal", mined: true }, // prettier-ignore
      { query: "overdue", funcName: "overdue", lines: [23, 26], indent: 0, doc: "List the invoices whose due date has passed.", mined: true }, // prettier-ignore
    ],
  },
  {
    lang: "java",
    path: "src/shop/Ledger.java",
    source: JAVA,
    functions: [
      { query: "Ledger.Ledger", funcName: "Ledger.Ledger", lines: [9, 11], indent: 4, doc: null, mined: false }, // prettier-ignore
      { query: "totalUnpaid", funcName: "Ledger.totalUnpaid", lines: [18, 25], indent: 4, doc: "Sums the amounts of the invoices not yet paid.\n\n@return the total in cents", mined: true }, // prettier-ignore
      { query: "overdue", funcName: "Ledger.overdue", lines: [28, 32], indent: 4, doc: "Lists the invoices whose due date has passed.", mined: true }, // prettier-ignore
    ],
  },
  {
    lang: "javascript",
    path: "lib/ledger.js",
    source: JAVASCRIPT,
    functions: [
      { query: "totalUnpaid", funcName: "totalUnpaid", lines: [7, 11], indent: 0, doc: "Sums the amounts of the invoices not yet paid.\n@param {Invoice[]} invoices all invoices", mined: true }, // prettier-ignore
      { query: "constructor", funcName: "Ledger.constructor", lines: [14, 16], indent: 2, doc: null, mined: false }, // prettier-ignore
      { query: "overdue", funcName: "Ledger.overdue", lines: [19, 22], indent: 2, doc: "Lists the invoices whose due date has passed.", mined: true }, // prettier-ignore
      { query: "price", funcName: "module.exports.price", lines: [26, 29], indent: 0, doc: "Formats an amount of cents as a price in euros.", mined: true }, // prettier-ignore
    ],
  },
  {
    lang: "php",
    path: "src/Ledger.php",
    source: PHP,
    functions: [
      { query: "__construct", funcName: "Ledger.__construct", lines: [9, 11], indent: 4, doc: null, mined: false }, // prettier-ignore
      { query: "totalUnpaid", funcName: "Ledger.totalUnpaid", lines: [19, 23], indent: 4, doc: "Sums the amounts of the invoices not yet paid.\n\n@return int the total in cents", mined: true }, // prettier-ignore
      { query: "overdue", funcName: "overdue", lines: [29, 32], indent: 0, doc: "Lists the invoices whose due date has passed.", mined: true }, // prettier-ignore
    ],
  },
  {
    lang: "ruby",
    path: "lib/shop/ledger.rb",
    source: RUBY,
    functions: [
      { query: "initialize", funcName: "Ledger.initialize", lines: [6, 8], indent: 4, doc: null, mined: false }, // prettier-ignore
      { query: "total_unpaid", funcName: "Ledger.total_unpaid", lines: [13, 17], indent: 4, doc: "Sums the amounts of the invoices not yet paid.\n\nReturns an Integer of cents.", mined: true }, // prettier-ignore
      { query: "overdue", funcName: "Ledger.overdue", lines: [20, 22], indent: 4, doc: "Lists the invoices whose due date has passed.", mined: true }, // prettier-ignore
    ],
  },
  {
    lang: "go",
    path: "shop/ledger.go",
    source: GO,
    functions: [
      { query: "TotalUnpaid", funcName: "Ledger.TotalUnpaid", lines: [12, 20], indent: 0, doc: "// TotalUnpaid sums the amounts of the invoices not yet paid,\n// in cents.", mined: true }, // prettier-ignore
      { query: "Overdue", funcName: "Overdue", lines: [25, 33], indent: 0, doc: "// Overdue lists the invoices whose due date has passed.", mined: true }, // prettier-ignore
    ],
  },
];

/** TypeScript: a scanner and narration language, no dataset's, so never mined. */
export const TS_FIXTURES: readonly Fixture[] = [
  {
    lang: "typescript",
    path: "src/ledger.ts",
    source: TYPESCRIPT,
    functions: [
      { query: "totalUnpaid", funcName: "totalUnpaid", lines: [4, 8], indent: 0, doc: "Sums the amounts of the invoices not yet paid.", mined: false }, // prettier-ignore
      { query: "constructor", funcName: "Ledger.constructor", lines: [13, 13], indent: 2, doc: null, mined: false }, // prettier-ignore
      { query: "overdue", funcName: "Ledger.overdue", lines: [16, 19], indent: 2, doc: "Lists the invoices whose due date has passed.", mined: false }, // prettier-ignore
      { query: "onReset", funcName: "Ledger.onReset", lines: [21, 23], indent: 2, doc: null, mined: false }, // prettier-ignore
      { query: "price", funcName: "price", lines: [26, 27], indent: 0, doc: null, mined: false }, // prettier-ignore
    ],
  },
  {
    lang: "typescript",
    path: "src/UnpaidTotal.tsx",
    source: TSX,
    functions: [
      { query: "UnpaidTotal", funcName: "UnpaidTotal", lines: [4, 12], indent: 0, doc: "Shows the unpaid total of one customer's invoices.", mined: false }, // prettier-ignore
      { query: "Empty", funcName: "Empty", lines: [14, 14], indent: 0, doc: null, mined: false }, // prettier-ignore
    ],
  },
];
