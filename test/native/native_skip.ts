/** What the tests of the native kernels share: when they skip, and the unit of their tolerances. */
import { loadAddon } from "../../src/native/addon";

const load = loadAddon();

/** Why a test of the native kernels is skipped in this run (switched off, or no addon), or false. */
export const nativeSkip: string | false =
  process.env.NARRATOR_NATIVE === "0"
    ? "NARRATOR_NATIVE=0: native kernels switched off for this run"
    : load.addon === null
      ? `native addon unavailable: ${load.reason}`
      : false;

/** float32 unit roundoff. */
export const U = 2 ** -24;
