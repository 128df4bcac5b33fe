"""The `spare` command line without running jobs: invalid jobs are refused
with file, key and expectation before anything is created; every command has
--help; `spare kernels` describes what can run."""

import json
import os
import subprocess
import unittest
from pathlib import Path

from spare_testing import SPARE, SpareTestCase, write_job


class InvalidJobs(SpareTestCase):
    def refused(self, job, *args, says):
        out = self.tmp / "never"
        done = self.spare("run", job, "--output", out, *args, expect=3)
        for part in says:
            self.assertIn(part, done.stderr)
        self.assertFalse(out.exists(), "an invalid job created its output directory")
        return done

    def test_each_mistake_names_file_key_and_expectation(self):
        job = self.tmp / "job.ini"
        write_job(job, heat2d={"nxx": "64"})
        self.refused(job, says=[f"{job}:", "unknown key 'nxx' in [heat2d]", "did you mean 'nx'?"])
        write_job(job, job={"kernel": "heat3d"})
        self.refused(job, says=["unknown kernel 'heat3d'", "heat2d"])
        write_job(job, heat2d={"alpha": "-1"})
        self.refused(job, says=["[heat2d] alpha: expected a number > 0, found '-1'"])
        write_job(job, heat2d={"nx": "lots"})
        self.refused(job, says=["[heat2d] nx: expected an integer >= 3, found 'lots'"])
        job.write_text("[job]\nkernel = heat2d\n")
        self.refused(job, says=["[job] steps is missing: expected an integer >= 1"])
        write_job(job, heat2d={"nx": "2000000", "ny": "2000000"})
        self.refused(job, says=["more than this machine's memory"])

    def test_sizes_beyond_63_bits_are_refused_with_their_figures(self):
        # 3 x 3689348814741910322 was planned as a state of 64 B and crashed the
        # worker; 1e9 x 1e9 gave 2^64 - 2.4e18 bytes, negative as the pool's int64.
        job = self.tmp / "job.ini"
        write_job(job, heat2d={"nx": "3", "ny": "3689348814741910322"})
        self.refused(job, says=[f"{job}: [heat2d] ny x nx = 3689348814741910322 x 3 points: "
                                "2^63 points or more"])
        write_job(job, heat2d={"nx": "1000000000", "ny": "1000000000"})
        self.refused(job, says=[f"{job}: [heat2d] ny x nx = 1000000000 x 1000000000 points on 2 "
                                "ranks need 2^63 bytes (8 EiB) of state or more"])
        write_job(job, heat2d={"nx": "1e9"})
        self.refused(job, says=["[heat2d] nx: expected an integer >= 3, found '1e9'; integers "
                                "are written in digits: 1000000000"])
        write_job(job, heat2d={"ny": "9223372036854775808"})
        self.refused(job, says=["found '9223372036854775808'; more than a 64-bit integer holds"])
        write_job(job, job={"kernel": "nbody"}, heat2d=None, nbody={"n": "1000000000"})
        self.refused(job, says=["[nbody] n: expected an integer >= 2 and <= 715827882"])
        self.refused(write_job(job), "--ranks", "100000",
                     says=["[job] ranks: expected an integer >= 1 and <= 65536"])

    def test_worker_plan_refuses_sizes_beyond_63_bits(self):
        # The pool plans a submitted job with the worker's --plan, for any rank count.
        worker = Path(SPARE).parent / "spare-worker"
        job = write_job(self.tmp / "job.ini", heat2d={"nx": "3", "ny": "3689348814741910322"})
        for ranks in ("1", "4"):
            done = subprocess.run([str(worker), "--plan", str(job), "--ranks", ranks],
                                  capture_output=True, text=True, cwd=self.tmp)
            self.assertEqual(done.returncode, 3, done.stdout + done.stderr)
            self.assertIn("ny x nx = 3689348814741910322 x 3 points",
                          json.loads(done.stdout)["error"])
        done = subprocess.run([str(worker), "--plan", str(write_job(job)), "--ranks", "100000"],
                              capture_output=True, text=True, cwd=self.tmp)
        self.assertEqual(done.returncode, 3, done.stdout + done.stderr)
        self.assertIn("[job] ranks = 100000: expected 1 to 65536 ranks",
                      json.loads(done.stdout)["error"])

    def test_overrides_are_checked_like_the_file(self):
        job = write_job(self.tmp / "job.ini")
        self.refused(job, "--set", "heat2d.cfl=1.5",
                     says=["--set heat2d.cfl=1.5: [heat2d] cfl: expected a number > 0 and <= 1"])
        self.refused(job, "--set", "heat2d.bogus=1", says=["unknown key 'bogus' in [heat2d]"])
        self.refused(job, "--ranks", "0", says=["[job] ranks: expected an integer >= 1"])
        self.refused(job, "--ranks", "5000", "--set", "heat2d.nx=3", "--set", "heat2d.ny=3",
                     says=["cannot be split over 5000 ranks"])

    def test_output_that_is_a_file(self):
        job = write_job(self.tmp / "job.ini")
        (self.tmp / "taken").write_text("not a directory")
        done = self.spare("run", job, "--output", self.tmp / "taken", expect=3)
        self.assertIn("[job] output = ", done.stderr)
        self.assertIn("exists and is not a directory", done.stderr)
        self.assertEqual((self.tmp / "taken").read_text(), "not a directory")

    def test_missing_mpiexec_is_named(self):
        job = write_job(self.tmp / "job.ini")
        done = subprocess.run([SPARE, "run", str(job), "--output", str(self.tmp / "o")],
                              capture_output=True, text=True, cwd=self.tmp,
                              env={**os.environ, "SPARE_MPIEXEC": "/nonexistent/mpiexec"})
        self.assertEqual(done.returncode, 5, done.stderr)
        self.assertIn("cannot run /nonexistent/mpiexec", done.stderr)

    def test_missing_job_file(self):
        done = self.spare("run", self.tmp / "nope.ini", expect=3)
        self.assertIn("nope.ini: cannot read the job file: no such file", done.stderr)


class Commands(SpareTestCase):
    def test_a_volunteer_lends_only_gpus_it_has(self):
        done = self.spare("volunteer", "--pool", "https://127.0.0.1:9", "--token", "t",
                          "--fingerprint", "sha256:" + "0" * 64, "--gpus", "99", expect=2)
        self.assertRegex(done.stderr, r"--gpus 99: this machine has (no usable GPU \(.+\)|GPUs )")

    def test_help_everywhere(self):
        for args in (["--help"], ["run", "--help"], ["ckpt", "--help"], ["kernels", "--help"],
                     ["bench", "--help"]):
            self.assertIn("usage:", self.spare(*args).stdout)
        self.assertIn("usage:", self.spare(expect=2).stdout)
        version = self.spare("--version").stdout
        self.assertRegex(version, r"^spare \d+\.\d+\.\d+\nGPU runtime: ")
        self.assertRegex(version, r"\nGPU 0: |\nGPUs: none \(.+\)")
        self.assertIn("unknown command 'launch'", self.spare("launch", expect=2).stderr)
        self.assertIn("which job file?", self.spare("run", expect=2).stderr)
        self.assertIn("spare run --help", self.spare("run", "x.ini", "--bogus", expect=2).stderr)
        self.assertIn("no such directory", self.spare("ckpt", "verify", "/nonexistent",
                                                      expect=2).stderr)

    def test_kernels_lists_parameters_and_datasets(self):
        text = self.spare("kernels").stdout
        for part in ("heat2d:", "nx", "integer", "default 512", "an integer >= 3", "init",
                     "one of: hotspot, sine", "temperature [ny, nx]", "cg:", "montecarlo:",
                     "nbody:", "position [n, 3]"):
            self.assertIn(part, text)
        listing = json.loads(self.spare("kernels", "heat2d", "--json").stdout)
        params = {p["name"]: p for p in listing[0]["parameters"]}
        self.assertEqual(params["alpha"]["type"], "real")
        self.assertEqual(params["alpha"]["unit"], "m^2/s")
        self.assertIn("unknown kernel 'nope'", self.spare("kernels", "nope", expect=3).stderr)

    def test_every_example_job_is_valid(self):
        examples = Path(os.environ["SPARE_SOURCE_DIR"]) / "examples"
        jobs = sorted(examples.glob("*.ini"))
        self.assertGreaterEqual(len(jobs), 4)
        for job in jobs:
            done = self.spare("run", job, "--dry-run")
            self.assertIn("dry run: the job is valid", done.stderr, job)

    def test_dry_run_checks_and_plans_without_starting(self):
        example = Path(os.environ["SPARE_SOURCE_DIR"]) / "examples" / "heat2d.ini"
        out = self.tmp / "out"
        done = self.spare("run", example, "--ranks", "4", "--output", out, "--dry-run")
        self.assertIn("heat2d for 12000 steps on 4 ranks", done.stderr)
        self.assertIn("process grid 2 x 2", done.stderr)
        self.assertFalse(out.exists())


if __name__ == "__main__":
    unittest.main()
