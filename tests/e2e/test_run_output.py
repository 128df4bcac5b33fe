"""What a person sees: a live status line on a terminal, timestamped log lines
otherwise; and the checkpoint commands on a finished run, the validation
digest among them."""

import json
import os
import pty
import re
import select
import shutil
import subprocess
import unittest

import h5py
import numpy as np

from spare_testing import SPARE, SpareTestCase, complete_checkpoints, flip_byte, write_job


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

    def digest_of(self, out, step):
        done = self.spare("ckpt", "digest", out, "--step", step, "--json")
        return json.loads(done.stdout)

    def test_the_validation_digest_is_the_same_on_any_rank_count(self):
        # 512 rows of 640 doubles: three tiles of 204 rows, across every rank's block.
        sections = {"heat2d": {"nx": "640", "ny": "512"},
                    "checkpoint": {"interval_steps": "40", "keep": "3"},
                    "job": {"steps": "80"}}
        digests = {}
        for ranks in (1, 3, 4):  # one block; three bands; a 2 x 2 process grid
            out = self.tmp / f"on-{ranks}"
            self.spare("run", write_job(self.tmp / "job.ini", **sections), "--ranks", ranks,
                       "--output", out)
            digests[ranks] = [self.digest_of(out, step) for step in (40, 80)]
        for ranks in (3, 4):
            self.assertEqual([d["validation_digest"] for d in digests[ranks]],
                             [d["validation_digest"] for d in digests[1]], ranks)
        first, last = digests[1]
        self.assertRegex(first["validation_digest"], r"^sha256:[0-9a-f]{64}$")
        self.assertNotEqual(first["validation_digest"], last["validation_digest"])
        self.assertEqual((first["leaves"], first["bytes"]), (4, 512 * 640 * 8))
        # Resumed from step 40 on two ranks: step 80 is the same state again.
        resumed = self.tmp / "resumed"
        shutil.copytree(self.tmp / "on-1" / "checkpoints" / "step-000000000040",
                        resumed / "checkpoints" / "step-000000000040")
        log = self.spare("run", write_job(self.tmp / "job.ini", **sections), "--ranks", 2,
                         "--output", resumed).stderr
        self.assertIn("resumed from the checkpoint at step 40", log)
        self.assertEqual(self.digest_of(resumed, 80)["validation_digest"],
                         last["validation_digest"])
        # Another job's state at the same step has another digest.
        other = self.tmp / "other"
        self.spare("run", write_job(self.tmp / "other.ini", **{
            **sections, "heat2d": {**sections["heat2d"], "amplitude": "2.0"}}),
            "--ranks", 1, "--output", other)
        self.assertNotEqual(self.digest_of(other, 40)["validation_digest"],
                            first["validation_digest"])
        # A damaged shard is named, not digested.
        flip_byte(self.tmp / "on-3" / "checkpoints" / "step-000000000040" / "shard-00001.h5",
                  "temperature")
        damaged = self.spare("ckpt", "digest", self.tmp / "on-3", "--step", 40, expect=4)
        self.assertIn("shard-00001.h5", damaged.stderr)
        self.assertEqual(damaged.stdout, "")


if __name__ == "__main__":
    unittest.main()
