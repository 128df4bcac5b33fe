"""cg end to end: converges to the manufactured solution, takes the same
iterations and gives the same bits on 1-4 ranks, and resumes exactly."""

import unittest

import h5py

from spare_testing import SpareTestCase, result_digest, write_job

STATE = ("solution", "residual", "direction")


def cg_job(path, n=24, steps=1000, **extra):
    sections = {"job": {"kernel": "cg", "steps": str(steps)}, "cg": {"n": str(n)}}
    for name, keys in extra.items():
        sections.setdefault(name, {}).update(keys)
    return write_job(path, heat2d=None, **sections)


def summary(output):
    with h5py.File(output / "result.h5", "r") as f:
        d = {k: float(v) for k, v in f["diagnostics"].attrs.items()}
        d["iterations"] = int(f.attrs["step"])
    return d


class ConjugateGradient(SpareTestCase):
    def test_converges_to_the_manufactured_solution(self):
        job = cg_job(self.tmp / "job.ini", n=40, cg={"tolerance": "1e-10"})
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        d = summary(out)
        self.assertLess(d["relative_residual"], 1e-10)
        # The stencil is exact on the quadratic solution: only the solver errs.
        # The solution peaks at 1/64; the error is far below it.
        self.assertLess(d["error_max"], 1e-11, d)
        self.assertLess(d["iterations"], 1000)  # it stopped by itself
        with h5py.File(out / "result.h5", "r") as f:
            x = f["solution"][...]
        self.assertAlmostEqual(x.max(), (0.5 * 0.5) ** 3, delta=1e-3)  # near the centre

    def test_same_iterations_and_bits_on_one_to_four_ranks(self):
        job = cg_job(self.tmp / "job.ini", n=21)  # uneven blocks
        results = set()
        for ranks in (1, 2, 3, 4):
            out = self.tmp / f"r{ranks}"
            self.spare("run", job, "--ranks", ranks, "--output", out)
            results.add((summary(out)["iterations"], result_digest(out, STATE)))
        self.assertEqual(len(results), 1, results)

    def test_stopping_short_and_resuming_changes_nothing(self):
        job = cg_job(self.tmp / "job.ini")
        self.spare("run", job, "--output", self.tmp / "whole")
        out = self.tmp / "parts"
        short = self.spare("run", job, "--set", "job.steps=15", "--ranks", 4, "--output", out)
        self.assertIn("before cg finished", short.stderr)
        self.assertGreater(summary(out)["relative_residual"], 1e-8)
        self.spare("run", job, "--ranks", 1, "--output", out)
        self.assertEqual(result_digest(out, STATE), result_digest(self.tmp / "whole", STATE))
        self.assertEqual(summary(out), summary(self.tmp / "whole"))


if __name__ == "__main__":
    unittest.main()
