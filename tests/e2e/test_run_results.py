"""`spare run` end to end: the heat2d result is bit-identical for 1-4 ranks,
restores N-to-M, describes itself, and follows the analytic solution."""

import math
import re
import shutil
import unittest

import h5py
import numpy as np

from spare_testing import SpareTestCase, complete_checkpoints, result_digest, write_job


class Results(SpareTestCase):
    def test_bit_identical_for_one_to_four_ranks(self):
        job = write_job(self.tmp / "job.ini", job={"steps": "150"})
        digests = {}
        for ranks in (1, 2, 3, 4):
            self.spare("run", job, "--ranks", ranks, "--output", self.tmp / f"r{ranks}")
            digests[ranks] = result_digest(self.tmp / f"r{ranks}")
        self.assertEqual(len(set(digests.values())), 1, digests)
        with h5py.File(self.tmp / "r1" / "result.h5", "r") as f:
            data = f["temperature"][...]
        self.assertTrue(0 < data.max() < 1.0)  # it evolved from the initial peak of 1

    def test_restore_n_to_m(self):
        """Checkpoint with 4 ranks, continue with 1, 2 or 3: same as never stopping."""
        job = write_job(self.tmp / "job.ini", job={"steps": "60"})
        self.spare("run", job, "--ranks", 4, "--output", self.tmp / "four")
        self.spare("run", job, "--ranks", 2, "--set", "job.steps=120", "--output",
                   self.tmp / "reference")
        reference = result_digest(self.tmp / "reference")
        for ranks in (1, 2, 3):
            out = self.tmp / f"four-then-{ranks}"
            shutil.copytree(self.tmp / "four", out)
            run = self.spare("run", job, "--ranks", ranks, "--set", "job.steps=120",
                             "--output", out)
            self.assertIn("resumed from the checkpoint at step 60", run.stderr)
            self.assertEqual(result_digest(out), reference, f"4 -> {ranks} ranks")

    def test_checkpoints_by_wall_time(self):
        job = write_job(self.tmp / "job.ini", job={"steps": "4000"},
                        checkpoint={"interval_seconds": "0", "keep": "1000"},
                        heat2d={"nx": "512", "ny": "512"})
        # How long the job takes varies 50-fold (0.2 s on a fast idle machine, 15 s
        # under the sanitizers or a loaded one): a run whose clock allowed fewer than
        # two checkpoints by it is run again with a sixth of its own duration.
        interval = 0.2
        for attempt in range(5):
            out = self.tmp / f"out{attempt}"
            run = self.spare("run", job, "--output", out, "--set",
                             f"checkpoint.interval_seconds={interval:.4f}")
            seconds = float(re.search(r"done: \d+ steps in ([0-9.]+) s", run.stderr).group(1))
            steps = complete_checkpoints(out)
            if seconds >= 4 * interval:
                break
            interval = max(seconds / 6, 0.002)
        self.assertEqual(steps[-1], 4000)  # the final one
        self.assertGreaterEqual(len(steps), 3, run.stderr)  # and at least two by the clock
        self.assertEqual(len(set(steps)), len(steps))

    def test_result_describes_itself(self):
        job = write_job(self.tmp / "job.ini", heat2d={"lx": "2.0", "alpha": "0.5"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        with h5py.File(out / "result.h5", "r") as f:
            self.assertEqual(f.attrs["kernel"], "heat2d")
            self.assertEqual(f.attrs["step"], 100)
            self.assertRegex(f.attrs["spare_version"], r"^\d+\.\d+\.\d+$")
            params = f["parameters"].attrs
            self.assertEqual(params["nx"], 96)
            self.assertEqual(params["lx"], 2.0)
            self.assertEqual(params["init"], "sine")
            dx, dy = 2.0 / 95, 1.0 / 79
            dt = 0.9 / (2 * 0.5 * (1 / dx**2 + 1 / dy**2))
            self.assertAlmostEqual(f.attrs["time"], 100 * dt, delta=1e-12)
            t = f["temperature"]
            self.assertEqual(t.shape, (80, 96))
            self.assertEqual(t.attrs["axes"], "y,x")
            np.testing.assert_allclose(t.attrs["spacing"], [dy, dx], rtol=1e-15)
            np.testing.assert_array_equal(t.attrs["origin"], [0.0, 0.0])
            np.testing.assert_array_equal(t.attrs["global_shape"], [80, 96])
        xdmf = (out / "result.xdmf").read_text()
        self.assertIn("result.h5:/temperature", xdmf)
        self.assertIn('Dimensions="80 96"', xdmf)
        self.assertIn("name = t", (out / "job.ini").read_text())

    def test_sine_decays_at_the_analytic_rate(self):
        """u0 = sin(pi x/lx) sin(pi y/ly) decays as exp(-alpha pi^2 (1/lx^2 + 1/ly^2) t)."""
        job = write_job(self.tmp / "job.ini", job={"steps": "1500"},
                        heat2d={"nx": "129", "ny": "65", "lx": "2.0", "alpha": "0.3"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        with h5py.File(out / "result.h5", "r") as f:
            u = f["temperature"][...]
            t = f.attrs["time"]
        ny, nx = u.shape
        y = np.arange(ny)[:, None] / (ny - 1)
        x = 2.0 * np.arange(nx)[None, :] / (nx - 1)
        decay = math.exp(-0.3 * math.pi**2 * (1 / 4 + 1) * t)
        self.assertLess(decay, 0.5)  # long enough to tell a wrong rate
        exact = decay * np.sin(math.pi * x / 2.0) * np.sin(math.pi * y)
        self.assertLess(np.abs(u - exact).max(), 2e-3 * decay)


if __name__ == "__main__":
    unittest.main()
