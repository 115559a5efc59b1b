/**
 * The claims at a glance: each judged claim's effect with its 95% interval, coloured by verdict,
 * the study's own value beside it where it gives one, one panel per kind of effect.
 */
import type { ClaimResult, Verdict } from "../claims";
import { rowFacet } from "./marks";
import { THEME, VEGA_LITE_SCHEMA, type Figure } from "./style";

/** The panels: relative changes in percent, differences of CE in nats. */
const MEASURES = {
  relative: "relative change of CE, % (the study's value: diamond)",
  nats: "CE difference to the study's choice, nats (above zero: the study's choice is lower)",
} as const;

const VERDICT_COLORS: Readonly<Record<Verdict, string>> = {
  agrees: "#009E73",
  disagrees: "#D55E00",
  "not resolved": "#999999",
};

/** Forest plot of the claims that have an interval. */
export function claimsFigure(claims: readonly ClaimResult[]): Figure {
  const scale = (c: ClaimResult) => (c.unit === "relative" ? 100 : 1);
  const values = claims
    .filter((c) => c.estimate !== null && c.interval !== null)
    .map((c) => ({
      claim: `${c.experiment}: ${c.id}`,
      measure: MEASURES[c.unit],
      verdict: c.verdict,
      estimate: c.estimate! * scale(c),
      lo: c.interval![0] * scale(c),
      hi: c.interval![1] * scale(c),
      study:
        c.unit === "relative" && typeof c.study.value === "number" ? c.study.value * 100 : null,
    }));
  const order = values.map((v) => v.claim);
  const y = { field: "claim", type: "nominal", sort: order, title: null } as const;
  const verdicts = Object.keys(VERDICT_COLORS) as Verdict[];
  const color = {
    field: "verdict",
    type: "nominal",
    title: "verdict",
    scale: { domain: verdicts, range: verdicts.map((v) => VERDICT_COLORS[v]) },
  } as const;
  return {
    id: "claims-effects",
    caption:
      "The study's claims: our effect (dot) and its paired bootstrap 95% interval (line) per claim, coloured by verdict; the dashed line is no effect. Relative changes are in percent with the study's own value as a diamond; differences of CE are in nats, above zero where the study's choice has the lower CE.",
    spec: {
      $schema: VEGA_LITE_SCHEMA,
      title: { text: "Claims", subtitle: "our effect and 95% interval, by verdict" },
      data: { values },
      facet: rowFacet("measure", Object.values(MEASURES)),
      spec: {
        width: 520,
        height: { step: 28 },
        layer: [
          {
            mark: { type: "rule", color: "#888", strokeDash: [4, 3] },
            encoding: { x: { datum: 0, type: "quantitative" } },
          },
          {
            mark: { type: "rule", strokeWidth: 2 },
            encoding: {
              y,
              x: { field: "lo", type: "quantitative", title: "effect (95% interval)" },
              x2: { field: "hi" },
              color,
            },
          },
          {
            mark: { type: "point", filled: true, size: 70 },
            encoding: {
              y,
              x: { field: "estimate", type: "quantitative" },
              color,
              tooltip: [
                { field: "claim", type: "nominal" },
                { field: "verdict", type: "nominal" },
                { field: "estimate", type: "quantitative", format: ".3f" },
                { field: "lo", type: "quantitative", format: ".3f", title: "95% from" },
                { field: "hi", type: "quantitative", format: ".3f", title: "95% to" },
              ],
            },
          },
          {
            mark: { type: "point", shape: "diamond", filled: false, size: 90, color: "#000" },
            encoding: { y, x: { field: "study", type: "quantitative" } },
          },
        ],
      },
      resolve: { scale: { x: "independent", y: "independent" } },
      config: THEME,
    },
  };
}
