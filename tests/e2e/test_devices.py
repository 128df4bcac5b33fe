"""[job] device: auto gives the same bits as device = cpu, on a GPU or not;
device = cuda without a usable GPU stops before the first step with exit code
5 and the reason; the start event names every rank's device."""

import json
import os
import re
import subprocess
import unittest

from spare_testing import SPARE, SpareTestCase, result_digest, write_job

RUN_FAILED = 5
NO_GPU = 77  # spare bench KERNEL --device cuda without a usable GPU


def gpu_listed():
    version = subprocess.run([SPARE, "--version"], capture_output=True, text=True).stdout
    return re.search(r"^GPU \d+: ", version, re.M) is not None


class Devices(SpareTestCase):
    def test_auto_is_the_same_bits_as_cpu(self):
        """On the CPU where there is no usable GPU, on the GPU where there is one."""
        digests = set()
        for device in ("auto", "cpu"):
            job = write_job(self.tmp / f"{device}.ini", job={"device": device, "steps": "20"})
            self.spare("run", job, "--output", self.tmp / device)
            digests.add(result_digest(self.tmp / device))
        self.assertEqual(len(digests), 1)

    def test_cuda_runs_on_a_gpu_or_stops_saying_why(self):
        job = write_job(self.tmp / "job.ini", job={"device": "cuda", "steps": "20"})
        if gpu_listed():
            self.spare("run", job, "--output", self.tmp / "out")
            return
        done = self.spare("run", job, "--output", self.tmp / "out", expect=RUN_FAILED)
        text = done.stdout + done.stderr
        self.assertRegex(text, r"no usable GPU: .+|has no CUDA support")
        self.assertIn("device = cuda", text)

    def test_bench_on_the_gpu_measures_or_says_there_is_none(self):
        args = ("bench", "heat2d", "--device", "cuda", "--repeat", "1", "--dir",
                self.tmp / "bench", "--set", "heat2d.nx=256", "--set", "heat2d.ny=256",
                "--set", "job.steps=5")
        if gpu_listed():
            self.assertIn("heat2d on GPU", self.spare(*args).stdout)
            return
        done = self.spare(*args, expect=NO_GPU)
        self.assertRegex(done.stdout, r"no usable GPU \(.+\); nothing was measured")

    def test_start_event_names_each_ranks_device(self):
        job = write_job(self.tmp / "job.ini", job={"device": "cpu", "steps": "3",
                                                   "output": str(self.tmp / "out")})
        worker = os.path.join(os.environ["SPARE_BUILD_DIR"], "bin", "spare-worker")
        environment = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
                           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                           OMPI_MCA_rmaps_base_oversubscribe="1")
        done = subprocess.run(["mpiexec", "-n", "2", worker, "--job", str(job)],
                              capture_output=True, text=True, timeout=120, env=environment,
                              cwd=self.tmp)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        events = [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines()
                  if line.startswith("SPARE-EVENT ")]
        start = next(e for e in events if e["event"] == "start")
        self.assertEqual(start["devices"], ["cpu", "cpu"])


if __name__ == "__main__":
    unittest.main()
