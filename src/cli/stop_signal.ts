/**
 * Ctrl-C for long runs: the first SIGINT or SIGTERM asks the run to stop at its next step boundary
 * with a checkpoint (`--resume` continues it exactly); a second one quits at once, as usual.
 */

/** An AbortSignal that the first SIGINT/SIGTERM aborts. */
export function stopOnSignal(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      process.stderr.write(
        `\n${sig}: stopping after this step with a checkpoint (again to quit at once)\n`,
      );
      controller.abort();
    });
  }
  return controller.signal;
}
