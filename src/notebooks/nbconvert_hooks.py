# Jupyter config for `jupyter nbconvert --execute`, loaded by the notebook runner (runner.ts) with
# --config. It reports each executed code cell, and a failing cell's error text, as one JSON line
# on stderr behind MARKER, so that the runner shows progress and the whole error: the error
# output's traceback (the kernel, src/notebooks/kernel.ts, sends type errors and exceptions as
# Jupyter errors) after what the cell wrote to stderr. A config file runs in the Python that runs
# Jupyter, so no separate interpreter has to be found.
import json
import signal
import sys

MARKER = "@narrator-cell "


def _emit(event, cell, cell_index, **extra):
    sys.stderr.write(MARKER + json.dumps({"event": event, "index": cell_index, **extra}) + "\n")
    sys.stderr.flush()


def _stream(cell, name):
    return "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == name
    )


def _error_text(cell):
    """The cell's stderr, then its error outputs' tracebacks (plain tslab writes errors to stderr)."""
    errors = [
        "\n".join(o.get("traceback") or [f"{o.get('ename', '')}: {o.get('evalue', '')}"])
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    return "\n".join(t for t in [_stream(cell, "stderr").rstrip("\n"), *errors] if t)


def _on_cell_start(cell, cell_index):
    _emit("start", cell, cell_index)


def _on_cell_executed(cell, cell_index, execute_reply):
    _emit("executed", cell, cell_index, status=execute_reply["content"].get("status"))


def _on_cell_error(cell, cell_index, execute_reply):
    _emit("error", cell, cell_index, stderr=_error_text(cell))


# Jupyter starts the kernel in its own session and tslab never checks for its parent, so a
# terminated nbconvert (a restart under nodemon, a CI timeout) would leave the kernel running.
# SIGTERM becomes the KeyboardInterrupt that nbconvert already answers by shutting the kernel down.
signal.signal(signal.SIGTERM, signal.default_int_handler)

c = get_config()  # noqa: F821 (provided by Jupyter's config loader)
c.ExecutePreprocessor.on_cell_start = _on_cell_start
c.ExecutePreprocessor.on_cell_executed = _on_cell_executed
c.ExecutePreprocessor.on_cell_error = _on_cell_error
