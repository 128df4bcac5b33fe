"""Whole jobs on a GPU through the real `spare`: every kernel's result on
device = cuda is the same bits as on device = cpu (precision = exact), on one
and two ranks, and a job checkpointed on one device resumes on the other with
the same result. Without a usable GPU every test exits 77, which CTest reports
as skipped, after saying why."""

import os
import re
import subprocess
import sys
import unittest

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from spare_testing import SPARE, SpareTestCase, result_digest, write_job  # noqa: E402

SKIPPED = 77  # SKIP_RETURN_CODE in CMakeLists.txt


def why_no_gpu():
    """None when `spare --version` lists a GPU, else the reason it gives."""
    version = subprocess.run([SPARE, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"^GPUs: none \((.*)\)$", version, re.M)
    return match.group(1) if match else None


REASON = why_no_gpu()
if REASON is not None:
    print(f"skipped: no usable GPU ({REASON})")
    sys.exit(SKIPPED)

# Small jobs of every kernel, and the datasets that make up each one's result.
JOBS = {
    "heat2d": ({"heat2d": {"nx": "96", "ny": "80", "init": "sine"}}, 100, ("temperature",)),
    "nbody": ({"nbody": {"n": "203", "dt": "0.001", "softening": "0.05"}}, 60,
              ("position", "velocity")),
    "montecarlo": ({"montecarlo": {"samples": "300000", "batch": "65536"}}, 100, ()),
    "cg": ({"cg": {"n": "21", "tolerance": "1e-10"}}, 500, ("solution", "residual", "direction")),
}


def kernel_job(path, kernel, device, **extra):
    sections, steps, _ = JOBS[kernel]
    sections = {name: dict(keys) for name, keys in sections.items()}
    sections["job"] = {"kernel": kernel, "steps": str(steps), "device": device}
    for name, keys in extra.items():
        sections.setdefault(name, {}).update(keys)
    if kernel != "heat2d":
        sections["heat2d"] = None
    return write_job(path, **sections)


def fingerprint(output, kernel):
    """The result's datasets' digest and its diagnostics, exactly."""
    with h5py.File(output / "result.h5", "r") as f:
        diagnostics = {k: float(v).hex() for k, v in f["diagnostics"].attrs.items()}
    datasets = JOBS[kernel][2]
    return (result_digest(output, datasets) if datasets else None), diagnostics


class SameBitsOnCpuAndGpu(SpareTestCase):
    def check_kernel(self, kernel):
        results = {}
        for device, ranks in (("cpu", 1), ("cuda", 1), ("cuda", 2)):
            job = kernel_job(self.tmp / f"{device}{ranks}.ini", kernel, device)
            out = self.tmp / f"{device}{ranks}"
            self.spare("run", job, "--ranks", ranks, "--output", out)
            results[(device, ranks)] = fingerprint(out, kernel)
        self.assertEqual(results[("cuda", 1)], results[("cpu", 1)])
        self.assertEqual(results[("cuda", 2)], results[("cpu", 1)])

    def test_heat2d(self):
        self.check_kernel("heat2d")

    def test_nbody(self):
        self.check_kernel("nbody")

    def test_montecarlo(self):
        self.check_kernel("montecarlo")

    def test_cg(self):
        self.check_kernel("cg")


class AcrossDevices(SpareTestCase):
    def test_checkpoint_on_one_device_resumes_on_the_other(self):
        """Exercises the sync hooks: restore, then sync_to_device; sync_to_host
        before every checkpoint."""
        for kernel in ("heat2d", "cg", "nbody"):
            whole = self.tmp / f"{kernel}-whole"
            self.spare("run", kernel_job(self.tmp / "w.ini", kernel, "cpu"), "--output", whole)
            for first, second in (("cuda", "cpu"), ("cpu", "cuda")):
                parts = self.tmp / f"{kernel}-parts-{first}"
                job = kernel_job(self.tmp / "p.ini", kernel, first,
                                 checkpoint={"interval_steps": "7"})
                self.spare("run", job, "--set", "job.steps=30", "--ranks", 2, "--output", parts)
                self.spare("run", job, "--set", f"job.device={second}", "--ranks", 3,
                           "--output", parts)
                self.assertEqual(fingerprint(parts, kernel)[0], fingerprint(whole, kernel)[0],
                                 f"{kernel}: {first} then {second}")


class RanksOnGpus(SpareTestCase):
    """ranks = auto is one rank per GPU where the job computes on GPUs: ranks
    that share a GPU take turns on it (docs/performance.md)."""

    def plan(self, ranks="auto", device="auto"):
        job = kernel_job(self.tmp / "plan.ini", "nbody", device)
        return self.spare("run", job, "--dry-run", "--ranks", ranks).stderr

    def test_auto_is_one_rank_per_gpu_and_sharing_is_said(self):
        version = self.spare("--version").stdout
        gpus = len(re.findall(r"^GPU \d+: ", version, re.M))
        self.assertGreater(gpus, 0, version)
        plural = "" if gpus == 1 else "s"
        grid = r" \(process grid [^)]*\)"
        one_per_gpu = rf"on {gpus} rank{plural}{grid}, one per GPU,"
        self.assertRegex(self.plan(), one_per_gpu)
        self.assertRegex(self.plan(device="cuda"), one_per_gpu)
        self.assertRegex(self.plan(ranks=gpus + 1),
                         rf"on {gpus + 1} ranks{grid}, sharing {gpus} GPU{plural} ")
        self.assertNotIn("GPU", self.plan(device="cpu"))


class NBodyFast(SpareTestCase):
    def test_fast_is_the_same_bits_on_one_and_two_ranks_and_close_to_exact(self):
        digests = set()
        for ranks in (1, 2):
            out = self.tmp / f"fast{ranks}"
            job = kernel_job(self.tmp / "fast.ini", "nbody", "cuda", nbody={"precision": "fast"})
            self.spare("run", job, "--ranks", ranks, "--output", out)
            digests.add(result_digest(out, ("position", "velocity")))
            with h5py.File(out / "result.h5", "r") as f:
                drift = float(f["diagnostics"].attrs["energy_drift"])
            self.assertLess(abs(drift), 1e-4)
        self.assertEqual(len(digests), 1)


if __name__ == "__main__":
    unittest.main()
