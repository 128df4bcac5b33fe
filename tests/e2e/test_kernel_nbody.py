"""nbody end to end: the same bits on 1-4 ranks and across a restart, energy
and momentum conserved within stated bounds."""

import unittest

import h5py

from spare_testing import SpareTestCase, result_digest, write_job

STATE = ("position", "velocity")


def nbody_job(path, steps=150, n=256, **extra):
    sections = {"job": {"kernel": "nbody", "steps": str(steps)},
                "nbody": {"n": str(n), "dt": "0.001", "softening": "0.05"}}
    for name, keys in extra.items():
        sections.setdefault(name, {}).update(keys)
    return write_job(path, heat2d=None, **sections)


class NBody(SpareTestCase):
    def test_same_bits_on_one_to_four_ranks(self):
        job = nbody_job(self.tmp / "job.ini", n=203)  # uneven blocks on 2, 3 and 4 ranks
        digests = set()
        for ranks in (1, 2, 3, 4):
            self.spare("run", job, "--ranks", ranks, "--output", self.tmp / f"r{ranks}")
            digests.add(result_digest(self.tmp / f"r{ranks}", STATE))
        self.assertEqual(len(digests), 1)

    def test_energy_and_momentum_are_conserved(self):
        """Leapfrog conserves energy to O(dt^2): over 300 steps of dt = 1e-3 with
        softening 0.05 the relative drift stays below 1e-5. Momentum: forces are
        pairwise opposite, so it stays at the rounding level of the pulls' single
        precision sums (about 3e-11 here), below 1e-9."""
        job = nbody_job(self.tmp / "job.ini", steps=300)
        out = self.tmp / "out"
        self.spare("run", job, "--output", out)
        with h5py.File(out / "result.h5", "r") as f:
            d = {k: float(v) for k, v in f["diagnostics"].attrs.items()}
            moved = (f["position"][...] != 0).sum()
        self.assertLess(abs(d["energy_drift"]), 1e-5, d)
        self.assertLess(d["momentum"], 1e-9, d)
        self.assertLess(d["energy"], 0)  # a bound cluster
        self.assertAlmostEqual(d["kinetic"] * 2 / -d["potential"], 1.0, delta=0.2)  # near virial
        self.assertGreater(moved, 0)

    def test_restart_on_other_rank_counts_changes_nothing(self):
        job = nbody_job(self.tmp / "job.ini", checkpoint={"interval_steps": "40"})
        self.spare("run", job, "--output", self.tmp / "whole")
        out = self.tmp / "parts"
        self.spare("run", job, "--set", "job.steps=70", "--ranks", 3, "--output", out)
        self.spare("run", job, "--ranks", 2, "--output", out)
        self.assertEqual(result_digest(out, STATE), result_digest(self.tmp / "whole", STATE))
        self.assertIn("Polyvertex", (out / "result.xdmf").read_text())


if __name__ == "__main__":
    unittest.main()
