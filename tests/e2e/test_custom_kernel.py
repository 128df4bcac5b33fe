"""A kernel built outside Spare's tree (examples/custom-kernel) against an
installed Spare: it builds, `spare` lists and checks it through its worker,
and its results are bit-identical on 1-3 ranks and match the exact solution."""

import os
import subprocess
import unittest
from pathlib import Path

import h5py

from spare_testing import SpareTestCase, result_digest

SOURCE = Path(os.environ["SPARE_SOURCE_DIR"])
BUILD = Path(os.environ["SPARE_BUILD_DIR"])


class CustomKernel(SpareTestCase):
    def build_example(self):
        prefix, build = self.tmp / "prefix", self.tmp / "build-wave1d"
        for command in (["cmake", "--install", BUILD, "--prefix", prefix],
                        ["cmake", "-S", SOURCE / "examples" / "custom-kernel", "-B", build,
                         f"-DCMAKE_PREFIX_PATH={prefix}"],
                        ["cmake", "--build", build, "-j2"]):
            done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, f"{command}\n{done.stdout}\n{done.stderr}")
        return build / "wave1d-worker"

    def test_builds_outside_the_tree_and_runs_under_spare(self):
        worker = self.build_example()
        listing = self.spare("kernels", "--worker", worker).stdout
        self.assertIn("wave1d: 1D wave equation", listing)
        self.assertIn("heat2d:", listing)  # the built-in kernels come along

        job = SOURCE / "examples" / "custom-kernel" / "wave1d.ini"
        unknown = self.spare("run", job, "--output", self.tmp / "no", expect=3)
        self.assertIn("unknown kernel 'wave1d'", unknown.stderr)  # not in spare-worker
        bad = self.spare("run", job, "--worker", worker, "--set", "wave1d.cfl=2",
                         "--output", self.tmp / "no", expect=3)
        self.assertIn("[wave1d] cfl: expected a number > 0 and <= 1", bad.stderr)

        digests = set()
        for ranks in (1, 3):
            out = self.tmp / f"r{ranks}"
            self.spare("run", job, "--worker", worker, "--ranks", ranks, "--set",
                       "job.steps=1500", "--output", out)
            digests.add(result_digest(out, ("u", "u_previous")))
            with h5py.File(out / "result.h5", "r") as f:
                # Leapfrog's phase error is about (k dx)^2 omega t / 24 ~ 1e-6 here.
                self.assertLess(f["diagnostics"].attrs["error_max"], 1e-5)
                self.assertEqual(f.attrs["kernel"], "wave1d")
        self.assertEqual(len(digests), 1)


if __name__ == "__main__":
    unittest.main()
