"""What a person sees: a live status line on a terminal, timestamped log lines
otherwise; and the checkpoint commands on a finished run."""

import os
import pty
import re
import select
import subprocess
import unittest

import h5py
import numpy as np

from spare_testing import SPARE, SpareTestCase, complete_checkpoints, write_job


class Output(SpareTestCase):
    def test_log_lines_when_not_a_terminal(self):
        job = write_job(self.tmp / "job.ini", checkpoint={"interval_steps": "50"})
        done = self.spare("run", job, "--output", self.tmp / "out")
        lines = done.stderr.splitlines()
        self.assertTrue(all(re.match(r"\[\d\d:\d\d:\d\d\] ", line) for line in lines), lines)
        self.assertIn("fresh start at step 0 of 100", done.stderr)
        self.assertIn("checkpoint at step 50", done.stderr)
        self.assertRegex(done.stderr, r"step 100/100 \(100\.0%\)  [\d.]+ steps/s")
        self.assertIn("result: ", done.stderr)
        self.assertNotIn("\r", done.stderr)

    def test_status_line_on_a_terminal(self):
        job = write_job(self.tmp / "job.ini", job={"steps": "2500", "progress_interval": "0.1"},
                        heat2d={"nx": "512", "ny": "512"})
        controller, terminal = pty.openpty()
        process = subprocess.Popen([SPARE, "run", str(job), "--output", str(self.tmp / "out")],
                                   stdin=terminal, stdout=terminal, stderr=terminal, cwd=self.tmp)
        os.close(terminal)
        seen = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 120)
            if not ready:
                process.kill()
                self.fail("no output from spare on the terminal")
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: spare exited
                break
            if not chunk:
                break
            seen += chunk
        os.close(controller)
        self.assertEqual(process.wait(timeout=60), 0, seen.decode(errors="replace"))
        text = seen.decode(errors="replace")
        # The status line is redrawn in place: carriage return, clear to end of line.
        self.assertGreaterEqual(text.count("\r\x1b[K"), 2, text)
        self.assertRegex(text, r"step \d+/2500 \([\d.]+%\)  [\d.]+ steps/s  ETA \d+:\d\d")
        self.assertNotRegex(text, r"\[\d\d:\d\d:\d\d\]")

    def test_inspect_and_merge(self):
        job = write_job(self.tmp / "job.ini", checkpoint={"interval_steps": "40", "keep": "3"})
        out = self.tmp / "out"
        self.spare("run", job, "--ranks", 3, "--output", out)
        self.assertEqual(complete_checkpoints(out), [40, 80, 100])
        inspect = self.spare("ckpt", "inspect", out).stdout
        for part in ("step-000000000040", "complete", "kernel heat2d revision 1", "step 100",
                     "temperature  f64 [80, 96]  axes y,x", "shard-00002.h5  rank 2"):
            self.assertIn(part, inspect)
        self.assertIn("OK: step 100, 3 shards", self.spare("ckpt", "verify", out).stdout)

        merged = self.tmp / "final.h5"
        self.spare("ckpt", "merge", out, "-o", merged)
        with h5py.File(merged, "r") as m, h5py.File(out / "result.h5", "r") as r:
            np.testing.assert_array_equal(m["temperature"][...], r["temperature"][...])
            self.assertEqual(m.attrs["step"], 100)
        self.assertIn("final.h5:/temperature", (self.tmp / "final.xdmf").read_text())

        older = self.spare("ckpt", "merge", out / "checkpoints" / "step-000000000040").stdout
        self.assertIn("heat2d-step-40.h5", older)
        with h5py.File(self.tmp / "heat2d-step-40.h5", "r") as f:
            self.assertEqual(f.attrs["step"], 40)
            self.assertEqual(f["temperature"].shape, (80, 96))


if __name__ == "__main__":
    unittest.main()
