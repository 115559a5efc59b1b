"""Jupyter protocol checks of the notebooks' kernel (notebooks/jupyter/kernels/tslab), with
jupyter_kernel_test (Debian's python3-jupyter-kernel-test), plus what the notebooks rely on: the
library imported with its types, and a type error that stops the cell before it runs.

Run by test/notebooks/kernel.test.ts with JUPYTER_PATH set to notebooks/jupyter:
    python3 -m unittest tslab_kernel_test
Not applicable to tslab, so left unset: history (tslab keeps none), the pager and clear_output
(no code of the language asks for them).
"""

import os
import time
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel

NOTEBOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notebooks")
# The first cell that imports the library type-checks and loads all of src/.
LIBRARY_TIMEOUT = 300


class TslabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tslab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world");'
    code_stderr = 'console.error("to stderr");'
    code_generate_error = 'throw new Error("boom");'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": 'const word: string = "narrator";\nword.toUpperCase()', "result": "NARRATOR"},
    ]
    code_display_data = [
        {"code": 'import * as tslab from "tslab";\ntslab.display.html("<b>bold</b>");', "mime": "text/html"},
        {"code": 'import * as tslab from "tslab";\ntslab.display.markdown("*md*");', "mime": "text/markdown"},
    ]
    completion_samples = [
        {"text": "Math.ab", "matches": {"abs"}},
        {"text": '"text".toUpp', "matches": {"toUpperCase"}},
    ]
    complete_code_samples = ["1 + 1", "const x = 1;", "function f() {}"]
    incomplete_code_samples = ["function f() {", "const list = [1,"]
    code_inspect_sample = "Math.abs"

    @classmethod
    def setUpClass(cls):
        # In the notebooks' folder, as Jupyter starts it for a notebook there ("../src" resolves).
        cls.km, cls.kc = start_new_kernel(kernel_name=cls.kernel_name, cwd=NOTEBOOKS_DIR)

    def tearDown(self):
        # After a failed cell tslab drops the requests of the next 200 ms (like stop_on_error).
        time.sleep(0.3)

    def test_type_error_stops_the_cell(self):
        self.flush_channels()
        reply, outputs = self.execute_helper('const n: number = "text";\nconsole.log("ran", n);')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "TSError")
        self.assertIn("1:7 - Type 'string' is not assignable to type 'number'", reply["content"]["evalue"])
        errors = [m for m in outputs if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertIn("not assignable", "\n".join(errors[0]["content"]["traceback"]))
        stdout = "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream")
        self.assertNotIn("ran", stdout)

    def test_library_with_its_types(self):
        self.flush_channels()
        reply, outputs = self.execute_helper(
            'import { TASKS, type Task } from "../src";\nconst first: Task = TASKS[0];\nfirst',
            timeout=LIBRARY_TIMEOUT,
        )
        self.assertEqual(reply["content"]["status"], "ok", outputs)
        results = [m for m in outputs if m["msg_type"] == "execute_result"]
        self.assertEqual(results[0]["content"]["data"]["text/plain"], "codesearchnet")
        # A value the library's types rule out is a type error of the cell.
        reply, _ = self.execute_helper('const wrong: Task = "summaries";')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn(
            "'\"summaries\"' is not assignable to type '\"codesearchnet\" | \"commitpackft\"'",
            reply["content"]["evalue"],
        )
        time.sleep(0.3)
        # Completion and inspection see the library's names and documentation.
        self.execute_helper('import * as nar from "../src";', timeout=LIBRARY_TIMEOUT)
        self.kc.complete("nar.prepareDa", 13)
        matches = self.get_non_kernel_info_reply(timeout=60)["content"]["matches"]
        self.assertIn("prepareDatasets", matches)
        self.kc.inspect("nar.prepareDatasets", 8)
        text = self.get_non_kernel_info_reply(timeout=60)["content"]["data"]["text/plain"]
        self.assertIn("function prepareDatasets(", text)

if __name__ == "__main__":
    unittest.main()
