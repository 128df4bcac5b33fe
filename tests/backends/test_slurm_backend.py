"""The Slurm backend against a real Slurm (slurm_cluster.py): a job submitted
with `spare submit --to cluster` runs its batch script under slurmctld and
slurmd on this machine and ends with the bits of `spare run`; preempted, it
checkpoints, requeues itself and resumes where it stopped; scancel stops it for
good; bad input names the backend and submits nothing. Needs root and
slurm-wlm; exits 77 (skipped) otherwise."""

import json
import re
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from backend_test_case import BackendTestCase  # noqa: E402
from slurm_cluster import SlurmCluster, exit_unless_available, free_port  # noqa: E402


def setUpModule():
    exit_unless_available()


class SlurmBackendTestCase(BackendTestCase):
    backends_ini = ("[laptop]\ntype = local\n"
                    "[cluster]\ntype = slurm\npartition = debug\nntasks = 2\n"
                    "workdir = {tmp}/scratch   # shared by the nodes: here, one node\n"
                    "poll_seconds = 1\n")

    def setUp(self):
        super().setUp()
        self.slurm = SlurmCluster()
        self.addCleanup(self.slurm.close)
        self.workdir = self.tmp / "scratch"
        self.env["SLURM_CONF"] = str(self.slurm.conf)

    def diagnostics(self):
        return self.slurm.logs() + "\n" + super().diagnostics()

    def submit(self, job_file, backend="cluster"):
        return super().submit(job_file, backend)

class SlurmJobs(SlurmBackendTestCase):
    def test_a_job_on_slurm_has_the_bits_of_spare_run(self):
        job = self.job_file()
        handle = self.submit(job)
        status = self.wait_for_state(handle, ("done", "failed", "cancelled"))
        self.assertEqual(status["state"], "done", self.log_of(handle))
        # The batch script is kept, readable, with the backend's options.
        script = (Path(status["output"]) / "slurm" / "job.sbatch").read_text()
        for line in ("#SBATCH --partition=debug", "#SBATCH --ntasks=2", "#SBATCH --requeue",
                     "#SBATCH --open-mode=append", "#SBATCH --signal=B:USR1@120"):
            self.assertIn(line, script)
        log = self.log_of(handle)
        self.assertIn("2 ranks started: fresh start at step 0 of 600", log)
        self.assertIn(f"Slurm job {handle.split(':')[1]}, start 0", log)
        self.assertEqual(self.fetched_digest(handle), self.reference_digest(job))
        # A finished job has nothing to move, and says so (not scancel's "Invalid job id").
        moved = self.spare("move", handle, "--to", "laptop")
        self.assertIn(f"{handle} finished before it could move", moved.stderr)
        self.assertEqual(moved.stdout.strip(), handle)

    def test_scancel_cancels_for_good(self):
        handle = self.submit(self.job_file(job={"steps": "2000000"}))
        slurm_id = handle.split(":")[1]
        self.wait_for(lambda: self.started(handle), "the ranks to start")
        self.slurm.run("scancel", slurm_id)
        self.wait_for_state(handle, ("cancelled",), timeout=30)
        # A requeued job would start again after cred_expire (10 s here): wait past it.
        time.sleep(14)
        self.assertEqual(self.slurm.jobs()[slurm_id], ("CANCELLED", 0))
        self.assertEqual(self.status(handle)["state"], "cancelled")
        log = self.log_of(handle)
        self.assertEqual(len(re.findall(r"\[spare\] Slurm job \d+, start", log)), 1, log)
        self.assertNotIn("requeued", log)
        workers = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                   and (p / "comm").exists() and self._comm(p) == "spare-worker"
                   and str(self.workdir) in self._cmdline(p)]
        self.assertEqual(workers, [], "ranks of a cancelled job still run")

    @staticmethod
    def _comm(proc):
        try:
            return (proc / "comm").read_text().strip()
        except OSError:
            return ""

    @staticmethod
    def _cmdline(proc):
        try:
            return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""


class SlurmMoves(SlurmBackendTestCase):
    def test_a_job_moved_from_here_to_slurm_and_back_has_the_bits_of_spare_run(self):
        # One rank here, two on Slurm (its ntasks), then this machine's cores: N-to-M restores.
        job, here = self.start_job_to_move("laptop")
        on_slurm = self.moved(here, "cluster")
        steps = self.long_steps
        left_here = self.stopped_step(here)

        self.wait_for(lambda: self.stepping(on_slurm), "the job on Slurm to step")
        back = self.moved(on_slurm, "laptop")
        slurm_log = self.log_of(on_slurm)
        self.assertIn(f"2 ranks started: resumed from the checkpoint at step {left_here} of",
                      slurm_log)
        self.assertIn("USR2 (a move): checkpoint and stop", slurm_log)
        self.assertNotIn("requeued", slurm_log)
        left_slurm = self.stopped_step(on_slurm)

        status = self.wait_for_state(back, ("done", "failed", "cancelled"))
        log = self.log_of(back)
        self.assertEqual(status["state"], "done", log)
        # ranks = auto here: this machine's two cores.
        self.assertIn(f"2 ranks started: resumed from the checkpoint at step {left_slurm} of",
                      log)
        self.assertTrue(0 < left_here < left_slurm < steps, (left_here, left_slurm))
        self.assertEqual(self.fetched_digest(back), self.reference_digest(job))


class SlurmPoolMoves(SlurmBackendTestCase):
    """A job moves from here to Slurm to a pool (a real `spare pool` and volunteer on
    loopback): the pool takes the moved job's checkpoint (importing, then queued
    from it). Moves off a pool: test_pool_moves.py."""

    def setUp(self):
        super().setUp()
        with open(self.backends, "a") as f:
            f.write(self.start_pool_with_a_volunteer())

    def test_a_job_moved_here_to_slurm_to_a_pool_has_the_bits_of_spare_run(self):
        job, here = self.start_job_to_move("laptop")
        on_slurm = self.moved(here, "cluster")
        left_here = self.stopped_step(here)
        self.wait_for(lambda: self.stepping(on_slurm), "the job on Slurm to step")
        done = self.spare("move", on_slurm, "--to", "lab")
        on_pool = done.stdout.strip()
        self.assertRegex(on_pool, r"^lab:\d+$", done.stderr)
        left_slurm = self.stopped_step(on_slurm)
        self.assertTrue(0 < left_here < left_slurm < self.long_steps, (left_here, left_slurm))
        self.assertEqual(self.status(on_slurm)["moved_to"], on_pool)
        self.assertRegex(self.log_of(on_slurm),
                         rf"\[spare\] \S+ moved to {on_pool} from its checkpoint step-\d+")
        status = self.wait_for_state(on_pool, ("done", "failed", "cancelled"), timeout=180)
        log = self.pool_log(on_pool)
        self.assertEqual(status["state"], "done", log)
        # Imported whole, then resumed there from exactly the step Slurm stopped at.
        self.assertIn(f"checkpoint at step {left_slurm} arrived whole and is held by the pool",
                      log)
        self.assertRegex(log, rf"restoring step {left_slurm}\b")
        self.assertIn(f"moved here from {on_slurm} with its checkpoint "
                      f"{'step-%012d' % left_slurm}", log)
        self.assertEqual(self.fetched_digest(on_pool), self.reference_digest(job))


class SlurmSweep(SlurmBackendTestCase):
    def test_a_sweep_is_a_job_array_whose_results_have_the_bits_of_their_runs(self):
        job = self.job_file()
        # heat2d's field after N steps does not depend on alpha (its time step
        # scales with 1/alpha), so the sweep is over the amplitude.
        amplitudes = ("0.5", "1.0", "4.0")
        handles = self.spare("submit", job, "--to", "cluster", "--sweep",
                             f"heat2d.amplitude={','.join(amplitudes)}").stdout.split()
        self.assertEqual(len(handles), 3, handles)
        array = handles[0].split(":")[1].split("_")[0]
        self.assertEqual(handles, [f"cluster:{array}_{k}" for k in (1, 2, 3)])
        script = (self.workdir / "bjob-1" / "slurm" / "job.sbatch").read_text()
        self.assertIn("#SBATCH --array=1-3", script)
        for handle in handles:
            status = self.wait_for_state(handle, ("done", "failed", "cancelled"))
            self.assertEqual(status["state"], "done", self.log_of(handle))
            self.assertEqual(status["sweep"], f"heat2d.amplitude={','.join(amplitudes)}")
        listing = self.spare("status").stdout
        self.assertIn(f"sweep heat2d.amplitude={','.join(amplitudes)} on cluster: 3 done", listing)
        digests = []
        for handle, amplitude in zip(handles, amplitudes):
            own = self.job_file(f"amplitude-{amplitude}.ini", heat2d={"amplitude": amplitude})
            digests.append(self.fetched_digest(handle))
            self.assertEqual(digests[-1], self.reference_digest(own), amplitude)
        self.assertEqual(len(set(digests)), 3, "each value gives its own result")

    def test_a_sweep_is_followed_and_cancelled_by_its_arrays_handle(self):
        job = self.job_file(job={"steps": "2000000"})
        handles = self.spare("submit", job, "--to", "cluster", "--sweep",
                             "heat2d.amplitude=0.5,1.0").stdout.split()
        array = handles[0].split("_")[0]
        tasks = json.loads(self.spare("status", array, "--json").stdout)
        self.assertEqual([t["handle"] for t in tasks], handles)
        # Two tasks of two ranks on two CPUs: one runs, the other waits its turn.
        self.wait_for(lambda: self.started(handles[0]), "the first task to start")
        self.spare("cancel", array)
        for handle in handles:
            self.assertEqual(self.wait_for_state(handle, ("cancelled", "done", "failed"),
                                                 timeout=60)["state"], "cancelled")
        # A handle that is neither a job nor an array of this client is refused.
        self.assertIn("no job cluster:999 was submitted from here",
                      self.spare("cancel", "cluster:999", expect=2).stderr)


class SlurmChosen(SlurmBackendTestCase):
    def test_auto_and_failover_send_the_job_where_it_can_start(self):
        # The pool first in the file and in the list: it has no volunteer, so Slurm it is.
        cluster = self.backends.read_text().split("[cluster]")[1]
        self.backends.write_text(self.start_empty_pool() + "[cluster]" + cluster)
        health = {b["name"]: b for b in json.loads(self.spare("backends", "--json").stdout)}
        self.assertTrue(health["lab"]["usable"], health)
        self.assertEqual(health["lab"]["free_slots"], 0, health)
        job = self.job_file()
        reference = self.reference_digest(job)
        for to in ("auto", "lab,cluster"):
            chosen = self.spare("submit", job, "--to", to)
            handle = chosen.stdout.strip()
            self.assertRegex(handle, r"^cluster:\d+$", chosen.stderr)
            self.assertIn("backend 'cluster' (slurm) can start it now", chosen.stderr)
            status = self.wait_for_state(handle, ("done", "failed", "cancelled"))
            self.assertEqual(status["state"], "done", self.log_of(handle))
            self.assertEqual(self.fetched_digest(handle), reference)
        # Nothing went to the pool.
        pool = json.loads(self.spare("status", "--json", "--pool", self.pool_url, "--token",
                                     self.pool_token, "--fingerprint", self.pool_fingerprint)
                          .stdout)
        self.assertEqual(pool["jobs"], [])
        listed = [j["handle"] for j in json.loads(self.spare("status", "--json").stdout)]
        self.assertTrue(all(h.startswith("cluster:") for h in listed), listed)


class SlurmPlacement(SlurmBackendTestCase):
    """The job file's [placement]: failover picks the backend without --to, and a job
    that waits longer than move_when_waiting moves on its own (spare placement-watch)."""

    def watch_log(self, handle):
        return (self.tmp / "client" / "placement" /
                (handle.replace(":", "-") + ".log")).read_text()

    def moved_on_its_own(self, handle, to, timeout=90):
        self.wait_for(lambda: self.status(handle)["moved_to"], f"{handle} to move on its own",
                      timeout=timeout)
        moved = self.status(handle)
        self.assertEqual(moved["state"], "stopped", moved)
        self.assertRegex(moved["moved_to"], rf"^{to}:\d+$")
        self.assertRegex(self.watch_log(handle),
                         rf"{handle} has waited \d+ s for resources on \S+: moving it to {to}")
        return moved["moved_to"]

    def test_failover_picks_the_backend_and_a_job_waiting_on_a_pool_moves_to_slurm(self):
        cluster = self.backends.read_text().split("[cluster]")[1]
        self.backends.write_text(self.start_empty_pool() + "[cluster]" + cluster)
        placed = self.job_file("placed.ini", placement={"failover": "lab, cluster"})
        reference = self.reference_digest(placed)
        # No --to: the pool (first) cannot start it, Slurm can.
        chosen = self.spare("submit", placed)
        handle = chosen.stdout.strip()
        self.assertRegex(handle, r"^cluster:\d+$", chosen.stderr)
        self.assertNotIn("placement-watch", chosen.stderr)  # no move_when_waiting: no watch
        self.assertEqual(self.wait_for_state(handle, ("done", "failed", "cancelled"))["state"],
                         "done", self.log_of(handle))
        self.assertEqual(self.fetched_digest(handle), reference)

        # Sent to the pool, where no volunteer comes: after 3 s it moves to Slurm by itself.
        waiting = self.job_file("waiting.ini",
                                placement={"failover": "lab, cluster", "move_when_waiting": "3s"})
        submitted = self.spare("submit", waiting, "--to", "lab")
        on_pool = submitted.stdout.strip()
        self.assertRegex(on_pool, r"^lab:\d+$")
        self.assertIn("watched by `spare placement-watch`", submitted.stderr)
        on_slurm = self.moved_on_its_own(on_pool, "cluster")
        self.assertIn("stopped before its first checkpoint", self.pool_log(on_pool))
        status = self.wait_for_state(on_slurm, ("done", "failed", "cancelled"))
        self.assertEqual(status["state"], "done", self.log_of(on_slurm))
        self.assertIn("fresh start at step 0", self.log_of(on_slurm))
        self.assertEqual(self.fetched_digest(on_slurm), reference)
        self.wait_for(lambda: "nothing left to watch" in self.watch_log(on_pool),
                      "the watch to end", timeout=60)

    def test_a_job_held_in_slurms_queue_moves_here_on_its_own(self):
        with open(self.backends, "a") as f:
            f.write(f"[held]\ntype = slurm\npartition = debug\nntasks = 2\n"
                    f"workdir = {self.workdir}\nsbatch_options = --hold\npoll_seconds = 1\n")
        job = self.job_file(placement={"failover": "held, laptop", "move_when_waiting": "2s"})
        held = self.spare("submit", job).stdout.strip()
        self.assertRegex(held, r"^held:\d+$")
        here = self.moved_on_its_own(held, "laptop")
        slurm_id = held.split(":")[1]
        # Taken off Slurm's queue, never run: no batch script started.
        self.assertEqual(self.slurm.jobs()[slurm_id][0], "CANCELLED")
        script_log = Path(self.status(held)["output"]) / "slurm" / "job.log"
        self.assertFalse(script_log.exists() and "Slurm job" in script_log.read_text())
        status = self.wait_for_state(here, ("done", "failed", "cancelled"))
        self.assertEqual(status["state"], "done", self.log_of(here))
        self.assertEqual(self.fetched_digest(here), self.reference_digest(job))


class SlurmPreemption(SlurmBackendTestCase):
    def test_a_preempted_job_checkpoints_requeues_and_resumes_with_the_same_bits(self):
        # Long enough to be preempted mid-run; the checkpoint the signal makes is all it
        # resumes from.
        steps = self.long_steps
        job = self.long_job_file()
        handle = self.submit(job)
        slurm_id = handle.split(":")[1]
        self.wait_for(lambda: self.stepping(handle), "the ranks to step")
        urgent = self.slurm.run("sbatch", "--parsable", "--partition=urgent", "--ntasks=2",
                                f"--output={self.tmp}/urgent.log", "--wrap", "sleep 1")
        urgent_id = urgent.stdout.strip().split(";")[0]
        self.wait_for(lambda: self.requeued(handle), f"{handle} to be preempted and requeued",
                      timeout=60)
        # Slurm holds a requeued job for cred_expire (10 s here): the reference runs meanwhile.
        reference = self.reference_digest(job)
        status = self.wait_for_state(handle, ("done", "failed", "cancelled"), timeout=180)
        log = self.log_of(handle)
        self.assertEqual(status["state"], "done", log)
        # Waited for, not read once: the urgent job may not have run the instant the other ends.
        self.wait_for(lambda: self.slurm.jobs()[urgent_id][0] not in self.SLURM_LIVE,
                      f"the urgent job {urgent_id} to end", timeout=60)
        self.assertEqual(self.slurm.jobs()[urgent_id][0], "COMPLETED", log)
        self.assertEqual(self.slurm.jobs()[slurm_id], ("COMPLETED", 1), log)
        self.assertIn("USR1 from Slurm", log)
        stopped = self.stopped_step(handle)
        resumed = int(re.search(r"resumed from the checkpoint at step (\d+)", log).group(1))
        # The work lost is at most the steps since the signal: none.
        self.assertEqual(resumed, stopped, log)
        self.assertTrue(0 < stopped < steps, log)
        self.assertIn("start 1", log)
        self.assertEqual(self.fetched_digest(handle), reference)

    SLURM_LIVE = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING",
                  "SUSPENDED")

    def requeued(self, handle):
        """Whether the batch script requeued the job after its drain; fails if the job
        ended instead (too short for this machine to be preempted mid-run)."""
        log = self.log_of(handle)
        if re.search(r"\[spare\] spare run stopped \(status \d+\): requeued", log):
            return True
        self.assertNotRegex(log, r"\] done: \d+ steps",
                            "the job ended before Slurm preempted it: too short for this machine "
                            f"(LONG_SECONDS)\n{self.diagnostics()}")
        return False


class SlurmBadInput(SlurmBackendTestCase):
    def test_bad_input_names_the_backend_and_submits_nothing(self):
        with open(self.backends, "a") as f:
            f.write(f"[nopart]\ntype = slurm\npartition = nosuch\nworkdir = {self.workdir}\n")
            (self.tmp / "lab.token").write_text("not-a-token\n")
            f.write(f"[lab]\ntype = pool\nurl = https://127.0.0.1:{free_port()}\n"
                    f"token_file = {self.tmp / 'lab.token'}\nfingerprint = sha256:{'00' * 32}\n")
        job = self.job_file()

        unknown = self.spare("submit", job, "--to", "nowhere", expect=2)
        self.assertIn("unknown backend 'nowhere'", unknown.stderr)
        self.assertIn("laptop, cluster, nopart, lab", unknown.stderr)

        no_partition = self.spare("submit", job, "--to", "nopart", expect=5)
        self.assertIn("backend 'nopart' (slurm): sbatch refused the job", no_partition.stderr)
        self.assertIn("Invalid partition", no_partition.stderr)
        self.assertIn("nothing was submitted", no_partition.stderr)

        pool_down = self.spare("submit", job, "--to", "lab", expect=5)
        self.assertIn("backend 'lab' (pool):", pool_down.stderr)
        self.assertIn("127.0.0.1", pool_down.stderr)

        # Nothing anywhere: no Slurm job, no job directory, no handle.
        self.assertEqual(self.slurm.jobs(), {})
        self.assertEqual(list(self.workdir.iterdir()) if self.workdir.exists() else [], [])
        self.assertEqual(json.loads(self.spare("status", "--json").stdout), [])

        health = {b["name"]: b for b in json.loads(self.spare("backends", "--json").stdout)}
        self.assertTrue(health["cluster"]["usable"], health)
        self.assertEqual(health["cluster"]["free_slots"], 2, health)
        self.assertFalse(health["nopart"]["usable"])
        self.assertIn("no partition 'nosuch'", health["nopart"]["summary"])
        self.assertFalse(health["lab"]["usable"])
        self.assertIn("backend 'lab' (pool)", health["lab"]["summary"])


if __name__ == "__main__":
    unittest.main()
