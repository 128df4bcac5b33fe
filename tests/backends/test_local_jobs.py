"""The local backend: `spare submit --to laptop` runs `spare run` here in the
background, and status, logs, cancel, fetch and move work on its handle; a
job moved between two local backends (one rank, then two) ends with the bits
of a `spare run` that never stopped. Bad backends files are refused with the
file, line, section and key."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backend_test_case import BackendTestCase  # noqa: E402
from spare_testing import descendants  # noqa: E402


class LocalJobs(BackendTestCase):
    backends_ini = "[laptop]\ntype = local\n[desk]\ntype = local\n"

    def test_a_job_submitted_here_has_the_bits_of_spare_run(self):
        job = self.job_file()
        handle = self.submit(job, "laptop")
        status = self.wait_for_state(handle, ("done", "failed", "cancelled", "stopped"))
        self.assertEqual(status["state"], "done", self.log_of(handle))
        self.assertEqual(status["checkpoint"], 600)
        self.assertIn("2 ranks started: fresh start at step 0 of 600", self.log_of(handle))
        listed = json.loads(self.spare("status", "--json").stdout)
        self.assertEqual([(j["handle"], j["state"]) for j in listed], [(handle, "done")])
        self.assertEqual(self.fetched_digest(handle), self.reference_digest(job))

    def test_cancel_stops_the_job_after_a_checkpoint(self):
        handle = self.submit(self.job_file(job={"steps": "5000000"}), "laptop")
        self.wait_for(lambda: "checkpoint at step" in self.log_of(handle), "a checkpoint")
        self.spare("cancel", handle)
        status = self.wait_for_state(handle, ("cancelled", "done", "failed", "stopped"), 60)
        self.assertEqual(status["state"], "cancelled", self.log_of(handle))
        stopped = self.stopped_step(handle)
        self.assertEqual(status["checkpoint"], stopped)
        pid = int((self.tmp / "client" / "local" / "laptop" / f"job-{handle.split(':')[1]}"
                   / "pid").read_text())
        self.assertFalse(Path(f"/proc/{pid}").exists() and descendants(pid))

    def test_a_job_moved_between_backends_has_the_bits_of_spare_run(self):
        job, first = self.start_job_to_move("laptop")
        second = self.moved(first, "desk")
        steps = self.long_steps
        left = self.stopped_step(first)
        status = self.wait_for_state(second, ("done", "failed", "cancelled", "stopped"))
        log = self.log_of(second)
        self.assertEqual(status["state"], "done", log)
        # ranks = auto on the second: this machine's two cores, from one rank's checkpoint.
        self.assertIn(f"2 ranks started: resumed from the checkpoint at step {left} of {steps}",
                      log)
        self.assertTrue(0 < left < steps)
        self.assertEqual(self.fetched_digest(second), self.reference_digest(job))

    def test_a_sweep_here_is_one_job_a_value(self):
        job = self.job_file()
        handles = self.spare("submit", job, "--to", "laptop", "--sweep",
                             "heat2d.amplitude=0.5,2.0").stdout.split()
        self.assertEqual(len(handles), 2, handles)
        for k, (handle, amplitude) in enumerate(zip(handles, ("0.5", "2.0")), start=1):
            status = self.wait_for_state(handle, ("done", "failed", "cancelled", "stopped"))
            self.assertEqual(status["state"], "done", self.log_of(handle))
            self.assertTrue(status["output"].endswith(f"/task-{k}"), status["output"])
            own = self.job_file(f"amplitude-{amplitude}.ini", heat2d={"amplitude": amplitude})
            self.assertEqual(self.fetched_digest(handle), self.reference_digest(own))


class PoolJobs(BackendTestCase):
    def test_a_pool_job_is_followed_and_cancelled_through_its_handle(self):
        # A real pool that no volunteer has joined: the job waits there.
        self.backends.write_text(self.start_empty_pool() + "[laptop]\ntype = local\n")
        handle = self.submit(self.job_file(), "lab")
        status = self.status(handle)
        self.assertEqual((status["state"], status["type"]), ("queued", "pool"), status)
        # The pool's own view of it: the same job, by the pool commands of old.
        pool = ["--pool", self.pool_url, "--token", self.pool_token, "--fingerprint",
                self.pool_fingerprint]
        number = handle.split(":")[1]
        self.assertEqual(json.loads(self.spare("status", number, "--json", *pool).stdout)
                         ["state"], "queued")
        # `spare submit --pool` as before: the same submission, no handle.
        self.assertEqual(self.spare("submit", self.job_file(), *pool).stdout.strip(),
                         str(int(number) + 1))
        self.assertIn("submitted", self.log_of(handle))
        # Waiting there, it moves here from its start (it has no checkpoint yet).
        moved = self.spare("move", handle, "--to", "laptop")
        here = moved.stdout.strip()
        self.assertIn(f"moved {handle} to {here} from its start", moved.stderr)
        self.assertEqual(self.status(handle)["state"], "stopped")
        self.assertIn("stopped before its first checkpoint", self.log_of(handle))
        self.assertEqual(self.wait_for_state(here, ("done", "failed", "cancelled"))["state"],
                         "done", self.log_of(here))
        other = self.submit(self.job_file(), "lab")
        self.spare("cancel", other)
        self.assertEqual(self.status(other)["state"], "cancelled")
        refused = self.spare("fetch", other, self.tmp / "result", expect=5)
        self.assertIn(f"job {other.split(':')[1]} has no result yet: it is cancelled",
                      refused.stderr)
        # A job that is over cannot move, wherever it is.
        refused = self.spare("move", other, "--to", "laptop", expect=5)
        self.assertIn(f"{other} cannot move: it is cancelled", refused.stderr)


class BadBackends(BackendTestCase):
    def test_mistakes_are_named_and_nothing_is_submitted(self):
        job = self.job_file()
        self.backends.write_text("[cluster]\ntype = slurm\nworkdir = /scratch\n")
        missing = self.spare("submit", job, "--to", "cluster", expect=2)
        self.assertIn(f"{self.backends}:1: [cluster]: a slurm backend needs partition",
                      missing.stderr)
        self.backends.write_text("[laptop]\ntype = local\ncores = 4\n")
        unknown_key = self.spare("backends", expect=2)
        self.assertIn(f"{self.backends}:3: [laptop] unknown key 'cores' for a local backend",
                      unknown_key.stderr)
        self.backends.write_text("[laptop]\ntype = local\n")
        unknown = self.spare("submit", job, "--to", "nowhere", expect=2)
        self.assertIn(f"unknown backend 'nowhere': {self.backends} names laptop", unknown.stderr)
        no_values = self.spare("submit", job, "--to", "laptop", "--sweep", "heat2d.nx", expect=2)
        self.assertIn("--sweep heat2d.nx: expected SECTION.KEY=VALUE,VALUE,...", no_values.stderr)
        bad_value = self.spare("submit", job, "--to", "laptop", "--sweep", "heat2d.nx=64,x",
                               expect=3)
        self.assertIn("heat2d.nx", bad_value.stderr)
        self.assertIn("'x'", bad_value.stderr)
        not_a_job = self.spare("status", "laptop:9", expect=2)
        self.assertIn("no job laptop:9 was submitted from here", not_a_job.stderr)
        self.assertEqual(json.loads(self.spare("status", "--json").stdout), [])
