"""Job input files end to end: heat2d starts from a temperature written with
h5py (`init = file`), each rank reading its own block, and the result matches
the same steps taken with numpy, bit for bit, on 1 and 2 ranks. An input that
does not fit stops the job before it starts, with a message naming the file,
the dataset and what was expected."""

import unittest

import h5py
import numpy as np

from spare_testing import SpareTestCase, result_digest, write_job

NY, NX = 37, 53
BOUNDARY = 0.25


def heat2d_steps(u, steps, lx=1.0, ly=1.0, alpha=1.0, cfl=0.9):
    """heat2d's update in numpy, with the kernel's operands in the kernel's order
    (heat2d_stencil.hpp): the same bits as any backend."""
    ny, nx = u.shape
    dx, dy = lx / (nx - 1), ly / (ny - 1)
    dt = cfl / (2.0 * alpha * (1.0 / (dx * dx) + 1.0 / (dy * dy)))
    rx, ry = alpha * dt / (dx * dx), alpha * dt / (dy * dy)
    u = u.copy()
    for _ in range(steps):
        c = u[1:-1, 1:-1]
        inner = (c + rx * ((u[1:-1, :-2] - 2.0 * c) + u[1:-1, 2:])
                 + ry * ((u[:-2, 1:-1] - 2.0 * c) + u[2:, 1:-1]))
        u[1:-1, 1:-1] = inner
    return u


class InitialFile(SpareTestCase):
    def write_input(self, path, **datasets):
        with h5py.File(path, "w") as f:
            for name, data in datasets.items():
                f[name] = data
        return path

    def initial_temperature(self):
        return np.random.default_rng(5).uniform(-1.0, 2.0, (NY, NX))

    def job(self, directory, **heat2d):
        directory.mkdir(parents=True, exist_ok=True)
        keys = {"nx": str(NX), "ny": str(NY), "init": "file", "boundary": str(BOUNDARY),
                "initial_file": "inputs/u0.h5"}
        keys.update(heat2d)
        return write_job(directory / "job.ini", job={"steps": "7"}, heat2d=keys)

    def test_result_is_the_input_diffused_on_one_and_two_ranks(self):
        u0 = self.initial_temperature()
        (self.tmp / "case" / "inputs").mkdir(parents=True)
        self.write_input(self.tmp / "case" / "inputs" / "u0.h5", temperature=u0)
        job = self.job(self.tmp / "case")  # the input's path is relative to the job file

        # The edges hold `boundary`, whatever the file has there.
        expected = u0.copy()
        expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = BOUNDARY
        expected = heat2d_steps(expected, 7)

        digests = {}
        for ranks in (1, 2):
            out = self.tmp / f"r{ranks}"
            self.spare("run", job, "--ranks", ranks, "--output", out)
            with h5py.File(out / "result.h5", "r") as f:
                np.testing.assert_array_equal(f["temperature"][...], expected,
                                              f"{ranks} rank(s)")
            digests[ranks] = result_digest(out)
            # The job as run names the input by its absolute path.
            self.assertIn(f"initial_file = {self.tmp / 'case' / 'inputs' / 'u0.h5'}\n",
                          (out / "job.ini").read_text())
        self.assertEqual(digests[1], digests[2])

    def test_dataset_is_chosen_by_name_and_overrides_start_here(self):
        u0 = self.initial_temperature()
        self.write_input(self.tmp / "mine.h5", temperature=np.zeros((NY, NX)), u_start=u0)
        (self.tmp / "case" / "inputs").mkdir(parents=True)
        job = self.job(self.tmp / "case", initial_dataset="u_start")
        out = self.tmp / "out"
        # A relative path in --set starts from the current directory (spare's cwd: self.tmp).
        self.spare("run", job, "--ranks", 2, "--output", out, "--set", "job.steps=1",
                   "--set", "heat2d.initial_file=mine.h5")
        expected = u0.copy()
        expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = BOUNDARY
        with h5py.File(out / "result.h5", "r") as f:
            np.testing.assert_array_equal(f["temperature"][...], heat2d_steps(expected, 1))

    def test_a_job_resumes_with_its_input_anywhere_but_not_with_other_data(self):
        """Checkpoints record an input by its content: a copy elsewhere resumes
        the job (another volunteer's, a moved file); other bytes under the same
        name do not."""
        u0 = self.initial_temperature()
        first, moved = self.tmp / "first", self.tmp / "moved"
        for case in (first, moved):
            (case / "inputs").mkdir(parents=True)
            self.write_input(case / "inputs" / "u0.h5", temperature=u0)
        out = self.tmp / "out"
        checkpoints = ["--set", "checkpoint.interval_steps=2"]
        self.spare("run", self.job(first), "--ranks", 2, "--output", out, "--set",
                   "job.steps=4", *checkpoints)
        resumed = self.spare("run", self.job(moved), "--ranks", 2, "--output", out, *checkpoints)
        self.assertRegex(resumed.stdout + resumed.stderr, r"resum\w* .*step 4")
        straight = self.tmp / "straight"
        self.spare("run", self.job(first), "--ranks", 2, "--output", straight)
        self.assertEqual(result_digest(out), result_digest(straight))
        # The same name with other bytes is another job.
        self.write_input(moved / "inputs" / "u0.h5", temperature=u0 + 1.0)
        refused = self.spare("run", self.job(moved), "--ranks", 2, "--output", out,
                             "--set", "job.steps=9", expect=4)
        self.assertRegex(refused.stderr, r"holds checkpoints of another job: \[heat2d\] "
                                         r"initial_file is xxh3-128:[0-9a-f]{32} there and "
                                         r"xxh3-128:[0-9a-f]{32} here")

    def test_inputs_that_do_not_fit_stop_the_job_before_it_starts(self):
        inputs = self.tmp / "case" / "inputs"
        inputs.mkdir(parents=True)
        path = self.write_input(inputs / "u0.h5",
                                temperature=np.zeros((NX, NY)),
                                single=np.zeros((NY, NX), dtype=np.float32),
                                volume=np.zeros((2, NY, NX)))
        (inputs / "notes.txt").write_text("not HDF5\n")
        job = self.job(self.tmp / "case")
        expected = f"expected a 2D f64 dataset '{{}}' of shape [ny, nx] = [{NY}, {NX}]"
        cases = [
            ([], f"initial_file {path}: dataset 'temperature' holds f64 of shape [{NX}, {NY}]; "
                 + expected.format("temperature")),
            (["heat2d.initial_dataset=single"],
             f"dataset 'single' holds f32 of shape [{NY}, {NX}]; " + expected.format("single")),
            (["heat2d.initial_dataset=volume"],
             f"dataset 'volume' holds f64 of shape [2, {NY}, {NX}]; " + expected.format("volume")),
            (["heat2d.initial_dataset=missing"],
             f"initial_file {path}: has no dataset 'missing'"),
            ([f"heat2d.initial_file={inputs / 'notes.txt'}"],
             f"initial_file {inputs / 'notes.txt'}: not readable as an HDF5 file"),
            (["heat2d.initial_file=nowhere.h5"],
             f"--set heat2d.initial_file=nowhere.h5: [heat2d] initial_file: nowhere.h5 "
             f"({self.tmp / 'nowhere.h5'}): no such file"),
            (["heat2d.initial_file="], "init = file, but initial_file is not given"),
            (["heat2d.init=sine"], f"initial_file = {path} is given, but init = sine"),
        ]
        for overrides, message in cases:
            args = [a for o in overrides for a in ("--set", o)]
            out = self.tmp / "out"
            done = self.spare("run", job, "--ranks", 2, "--output", out, *args, expect=3)
            self.assertIn(message, done.stderr, overrides)
            if not message.startswith("--set"):
                self.assertIn(str(job), done.stderr, overrides)
            self.assertFalse(out.exists(), overrides)  # nothing was started


if __name__ == "__main__":
    unittest.main()
