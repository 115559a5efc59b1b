/**
 * The claims as pages show them: the claims page (each claim, the study's value, ours with its 95%
 * interval, the verdict and why, the numbers behind it), the index's summary, and the table of
 * claims an experiment's page tests. The judging is in ./claims.ts.
 */
import { groupDigits } from "../util/number";
import { EXACT_LIMIT, REPLICATES } from "./bootstrap";
import { pageTitle, type PageContent } from "./catalog";
import { formatEffect, verdictCounts, type ClaimResult } from "./claims";
import { claimsFigure } from "./figures/claims";
import { definitionList, escapeHtml, htmlTable, type Cell } from "./html";
import { EXPERIMENTS, type ReportInput } from "./inputs";
import { provenanceBlock } from "./provenance";

/** The anchor of a claim's row on the claims page. */
function claimAnchor(c: Pick<ClaimResult, "experiment" | "id">): string {
  return `claim-${c.experiment}-${c.id}`;
}

/** A verdict cell, coloured by verdict. */
function verdictCell(c: ClaimResult, href?: string): Cell {
  return { text: c.verdict, className: `verdict-${c.verdict.replace(" ", "-")}`, href };
}

/** The claims an experiment page tests, each linked to its row on the claims page. */
export function experimentClaimsBlock(claims: readonly ClaimResult[]): string {
  if (claims.length === 0) return "";
  return htmlTable(
    ["claim of the study", "study", "ours (95% interval)", "verdict"],
    claims.map((c): Cell[] => [
      { text: c.text, long: true },
      c.study.text,
      { text: c.ours, long: true },
      verdictCell(c, `claims.html#${claimAnchor(c)}`),
    ]),
    "Claims of the study tested here (see the claims page for the method and the numbers behind each verdict)",
  );
}

/** The index's summary of the claims: counts by verdict and one line per claim. */
export function claimsSummary(claims: readonly ClaimResult[]): string {
  const head = `<h2>Claims of the study</h2>`;
  if (claims.length === 0)
    return `${head}\n<p>No experiment definition states a claim of the study.</p>`;
  const n = verdictCounts(claims);
  return [
    head,
    `<p>${escapeHtml(
      `${claims.length} claims: ${n.agrees} agree, ${n.disagrees} disagree, ${n["not resolved"]} not resolved at this size.`,
    )} <a href="claims.html">The claims page</a>${escapeHtml(" has the method, the intervals and the reasons.")}</p>`,
    htmlTable(
      ["claim of the study", "experiment", "verdict"],
      claims.map((c): Cell[] => [
        { text: c.text, long: true, href: `claims.html#${claimAnchor(c)}` },
        { text: pageTitle(c.experiment), href: c.figure },
        verdictCell(c),
      ]),
    ),
  ].join("\n");
}

/** The claims page: each claim, the study's value, ours with its interval, the verdict and why. */
export function claimsPage(input: ReportInput, claims: readonly ClaimResult[]): PageContent {
  const table = htmlTable(
    [
      "claim of the study",
      "study",
      "ours: effect (95% interval)",
      { text: "n", numeric: true },
      "verdict",
      "figure",
    ],
    claims.map((c): Cell[] => [
      { text: c.text, long: true, id: claimAnchor(c) },
      c.study.text,
      { text: c.ours, long: true },
      {
        text: c.n
          ? `${groupDigits(c.n.examples)} examples × ${c.n.seeds} seed${c.n.seeds > 1 ? "s" : ""}`
          : "—",
        numeric: true,
      },
      verdictCell(c),
      { text: `${pageTitle(c.experiment)}`, href: c.figure },
    ]),
    "The study's claims judged on our results",
  );
  const details = claims.map((c) =>
    [
      `<details>`,
      `<summary>${escapeHtml(`${c.experiment}: ${c.id} · ${c.verdict}`)}</summary>`,
      definitionList([
        ["claim", c.text],
        ["where the study says it", c.source],
        ["study", c.study.text],
        ["effect", c.effect || "—"],
        ["verdict", `${c.verdict}: ${c.reason}`],
        ["method", c.method ?? "—"],
      ]),
      c.details.length
        ? htmlTable(
            [
              "quantity",
              { text: "estimate", numeric: true },
              { text: "95% interval", numeric: true },
            ],
            c.details.map((d): Cell[] => [
              d.what,
              { text: formatEffect(d.estimate, d.unit), numeric: true },
              {
                text: `[${formatEffect(d.lo, d.unit)}, ${formatEffect(d.hi, d.unit)}]`,
                numeric: true,
              },
            ]),
          )
        : "",
      `</details>`,
    ]
      .filter(Boolean)
      .join("\n"),
  );
  const n = verdictCounts(claims);
  return {
    file: "claims.html",
    title: "Claims",
    blocks: [
      `<h1>Claims of the study</h1>`,
      `<p class="lead">${escapeHtml(
        `What the study says, what we find, and how sure we are: ${claims.length} claims stated in the experiment definitions (experiments/*.json), ${n.agrees} agree, ${n.disagrees} disagree, ${n["not resolved"]} not resolved at this size (profile ${input.profile}). The same numbers are in claims.json beside this page.`,
      )}</p>`,
      claims.length ? table : "<p>No experiment definition states a claim of the study.</p>",
      claimsFigure(claims),
      `<h2>How the verdicts are reached</h2>`,
      `<ul>\n${CLAIM_METHOD.map((line) => `<li>${escapeHtml(line)}</li>`).join("\n")}\n</ul>`,
      `<h2>The numbers behind each verdict</h2>`,
      ...details,
      provenanceBlock(
        input,
        [],
        EXPERIMENTS.map((e) => input.runs?.[e]),
      ),
    ],
  };
}

/** The method and verdict rules, as the claims page states them. */
const CLAIM_METHOD = [
  `Uncertainty: a paired bootstrap. Each evaluation keeps every example's summed NLL and target-token count; the CE of a set of examples is the sum of NLL over the sum of tokens, averaged over seeds. A resample draws, within each task and language, as many examples as there are with replacement, and, where there are several seeds, as many seeds with replacement; every setting compared is computed on the same resample, so differences are paired by example and seed. The 95% interval is the 2.5th to 97.5th percentile of the resampled values. When all distinct resamples can be listed (at most ${groupDigits(EXACT_LIMIT)}) they are enumerated exactly; otherwise ${groupDigits(REPLICATES)} resamples are drawn with a generator seeded from the claim's id, so the page is the same on every build.`,
  "Best setting (Figs 2-6): agrees when the study's choice has the lowest CE and, against every other setting, the interval of the difference lies above zero; disagrees when some other setting is lower with the interval of the difference below zero; otherwise not resolved at this size.",
  "Relative change against a baseline (Table 1, Fig. 7, Fig. 1): the effect is CE(treatment) / CE(baseline) − 1. Agrees when its interval lies on the study's side of zero; disagrees when it lies on the other side; otherwise not resolved. Our models are far smaller than the study's, so the direction is judged; whether the study's own value falls inside our interval is stated with the reason.",
  "Transfer (the best setting on one task is the best on the other): agrees when one setting is lowest beyond the noise on both; disagrees when the setting lowest beyond the noise on the first task is beaten beyond the noise on the second; otherwise not resolved.",
  "Each interval is a 95% interval on its own, with no correction for several comparisons: requiring every comparison for a best setting is the strict side, while a disagreement can come from any one of them.",
  "A claim is not resolved, with the reason given, when its trials are unfinished, when their stored results lack the per-example CE terms (results from before they were kept: rerun the sweep), or when the settings compared were evaluated on different examples.",
];
