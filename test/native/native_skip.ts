/**
 * What the tests of the native kernels share: when they skip, and the unit of their tolerances.
 *
 * NARRATOR_NATIVE=0 switches the native kernels off and their tests skip. Otherwise, a missing or
 * broken addon skips them too, unless NARRATOR_REQUIRE_NATIVE=1 (CI sets it where OpenBLAS is
 * installed): then every file that imports this module gets a failing test whose message holds
 * the load error, so a build that silently fell back to plain wasm cannot pass.
 */
import { test } from "node:test";
import { loadAddon, type AddonLoad } from "../../src/native/addon";

/** Whether the native tests run, skip (with the reason), or fail (with the reason). */
export interface NativeDecision {
  skip: string | false;
  failure: string | null;
}

/** The decision for an environment and an addon load (pure, so that it can be tested). */
export function nativeDecision(
  env: Readonly<Record<string, string | undefined>>,
  load: AddonLoad,
): NativeDecision {
  if (env.NARRATOR_NATIVE === "0") {
    return { skip: "NARRATOR_NATIVE=0: native kernels switched off for this run", failure: null };
  }
  if (load.addon !== null) return { skip: false, failure: null };
  const skip = `native addon unavailable: ${load.reason}`;
  const failure =
    env.NARRATOR_REQUIRE_NATIVE === "1"
      ? `NARRATOR_REQUIRE_NATIVE=1 but the native addon is unavailable: ${load.reason}`
      : null;
  return { skip, failure };
}

const decision = nativeDecision(process.env, loadAddon());

/** Why a test of the native kernels is skipped in this run (switched off, or no addon), or false. */
export const nativeSkip: string | false = decision.skip;

if (decision.failure !== null) {
  const failure = decision.failure;
  test("the native addon is required in this run (NARRATOR_REQUIRE_NATIVE=1)", () => {
    throw new Error(failure);
  });
}

/** float32 unit roundoff. */
export const U = 2 ** -24;
