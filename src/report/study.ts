/** The study's reported facts (its tables and chosen settings) that reports set beside ours. */
import type { Task } from "../data/example";

/** Table 1 of the study: base model vs cocktail adapter, CE (nats/token) and perplexity. */
export const STUDY_TABLE1: Readonly<
  Record<Task, { baseCe: number; cocktailCe: number; basePpl: number; cocktailPpl: number }>
> = {
  codesearchnet: { baseCe: 2.08, cocktailCe: 1.79, basePpl: 8.04, cocktailPpl: 5.98 },
  commitpackft: { baseCe: 2.25, cocktailCe: 1.95, basePpl: 9.49, cocktailPpl: 7.02 },
};
