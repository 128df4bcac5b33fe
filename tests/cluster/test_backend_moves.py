"""`spare move` of a running job from this machine to a Slurm started here, on to a
volunteer pool on the laptop cluster (each volunteer in a network namespace of its
own, the coordinator on the bridge), and back off the pool to this machine: every
leg resumes from the checkpoint the last one stopped at, on another rank count, and
the result is the bits of a `spare run` that never moved. Needs root, network
namespaces and slurm-wlm; exits 77 (skipped) where one is missing."""

import re
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "backends"))

import laptop_cluster  # noqa: E402
from backend_test_case import BackendTestCase  # noqa: E402
from pool_cluster import PoolCluster  # noqa: E402
from slurm_cluster import SlurmCluster  # noqa: E402
from slurm_cluster import exit_unless_available as exit_unless_slurm  # noqa: E402


def setUpModule():
    laptop_cluster.exit_unless_available()
    exit_unless_slurm()


class MovesAcrossBackends(BackendTestCase):
    # Each leg is well under way before the next move.
    LONG_SECONDS = 20

    def setUp(self):
        super().setUp()
        self.slurm = SlurmCluster()
        self.addCleanup(self.slurm.close)
        self.env["SLURM_CONF"] = str(self.slurm.conf)
        self.lab = PoolCluster(2, logs=self.tmp / "lab")
        self.addCleanup(self.lab.close)
        self.lab.wait_for_volunteers(2)
        (self.tmp / "lab.token").write_text(self.lab.token + "\n")
        self.backends.write_text(
            f"[laptop]\ntype = local\n"
            f"[cluster]\ntype = slurm\npartition = debug\nntasks = 2\n"
            f"workdir = {self.tmp}/scratch\npoll_seconds = 1\n"
            f"[lab]\ntype = pool\nurl = {self.lab.url}\ntoken_file = {self.tmp}/lab.token\n"
            f"fingerprint = {self.lab.fingerprint}\n")

    def diagnostics(self):
        return self.slurm.logs() + f"\n(the pool's and laptops' logs: {self.tmp / 'lab'})"

    def test_here_to_slurm_to_the_laptop_cluster_and_back_has_the_bits_of_spare_run(self):
        job, here = self.start_job_to_move("laptop")  # one rank
        on_slurm = self.moved(here, "cluster")  # two tasks
        left_here = self.stopped_step(here)
        self.wait_for(lambda: self.stepping(on_slurm), "the job on Slurm to step")

        moved = self.spare("move", on_slurm, "--to", "lab")
        on_pool = moved.stdout.strip()
        self.assertRegex(on_pool, r"^lab:\d+$", moved.stderr)
        left_slurm = self.stopped_step(on_slurm)
        started = re.compile(rf"restoring step {left_slurm}\b(.|\n)*started at step {left_slurm} "
                             r"on 2 ranks")
        self.wait_for(lambda: started.search(self.pool_log(on_pool)),
                      "the laptops' group to resume the job", timeout=120)
        time.sleep(2)  # some steps on the laptops

        back = self.spare("move", on_pool, "--to", "laptop").stdout.strip()
        self.assertRegex(back, r"^laptop:\d+$")
        pool_log = self.pool_log(on_pool)
        left_pool = int(re.search(r"stopped at its checkpoint at step (\d+)", pool_log).group(1))
        self.assertIn(f"moved here from {on_slurm} with its checkpoint", pool_log)
        self.assertIn(f"moved to {back} from its checkpoint", pool_log)
        self.assertEqual(self.status(on_pool)["state"], "stopped")

        status = self.wait_for_state(back, ("done", "failed", "cancelled"), timeout=300)
        log = self.log_of(back)
        self.assertEqual(status["state"], "done", log)
        self.assertIn(f"2 ranks started: resumed from the checkpoint at step {left_pool} of", log)
        self.assertTrue(0 < left_here < left_slurm < left_pool < self.long_steps,
                        (left_here, left_slurm, left_pool))
        self.assertEqual(self.fetched_digest(back), self.reference_digest(job))


if __name__ == "__main__":
    unittest.main()
