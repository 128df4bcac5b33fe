"""The base of the backends' end-to-end tests: a scratch directory with its
own backends.ini and client state ($SPARE_BACKENDS, $SPARE_JOBS_DB), the real
`spare`, the job they run, and waiting for a handle's state."""

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))

from loopback_pool import LoopbackPool  # noqa: E402
from spare_testing import SPARE, descendants, result_digest, write_job  # noqa: E402

# Two ranks on two cores; checkpoints every 100 steps.
JOB = {
    "job": {"name": "bjob", "kernel": "heat2d", "steps": "600", "ranks": "2",
            "progress_interval": "0.2"},
    "checkpoint": {"interval_steps": "100", "interval_seconds": "0", "keep": "2"},
    "heat2d": {"nx": "96", "ny": "80", "init": "sine", "amplitude": "1.0"},
}


# Steps a second of the long job on one rank, measured once per process.
_one_rank_step_rate = None


class BackendTestCase(unittest.TestCase):
    backends_ini = "[laptop]\ntype = local\n"

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="spare-backends-test-"))
        if os.environ.get("SPARE_KEEP_LOGS"):
            print(f"the test's files are kept in {self.tmp}", file=sys.stderr)
        else:
            self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.addCleanup(self.stop_local_jobs)
        self.backends = self.tmp / "backends.ini"
        self.backends.write_text(self.backends_ini.format(tmp=self.tmp))
        self.env = dict(os.environ, SPARE_BACKENDS=str(self.backends),
                        SPARE_JOBS_DB=str(self.tmp / "client" / "jobs.db"))

    def stop_local_jobs(self):
        """SIGKILL to what the local backend and the placement watches started and is still
        running (a failed test's)."""
        for pid_file in (self.tmp / "client" / "placement").glob("*.pid"):
            pid = int(pid_file.read_text())
            try:
                if b"placement-watch" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass  # over
        for wrapper in (self.tmp / "client" / "local").glob("*/job-*/wrapper"):
            pid = int(wrapper.read_text())
            try:
                words = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # over
            if str(wrapper.parent / "run.sh").encode() not in words:
                continue  # that pid is another program's now
            for process in [pid] + descendants(pid):
                try:
                    os.kill(process, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def diagnostics(self):
        """What a failure shows beside spare's output: a pool's and its volunteer's logs."""
        shown = []
        for name in ("pool.log", "volunteer.log"):
            log = self.tmp / name
            if log.exists():
                shown.append(f"--- {name} (last lines)\n" +
                             "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
        return "\n".join(shown)

    def spare(self, *args, expect=0, timeout=120):
        done = subprocess.run([SPARE, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, cwd=self.tmp, env=self.env)
        if expect is not None:
            self.assertEqual(done.returncode, expect,
                             f"spare {' '.join(map(str, args))}\nstdout:\n{done.stdout}\n"
                             f"stderr:\n{done.stderr}\n{self.diagnostics()}")
        return done

    def job_file(self, name="job.ini", **sections):
        merged = {key: dict(value) for key, value in JOB.items()}
        for key, value in sections.items():
            merged.setdefault(key, {}).update(value)
        return write_job(self.tmp / name, **merged)

    def reference_digest(self, job_file):
        """The same job by `spare run` here, never stopped."""
        out = self.tmp / "reference"
        # Plain stepping, which under the sanitizers (and beside another test)
        # outlasts the 120 s a command gets: 150000 steps took over 120 s there.
        self.spare("run", job_file, "--output", out, "--fresh", timeout=900)
        return result_digest(out)

    def submit(self, job_file, backend):
        handle = self.spare("submit", job_file, "--to", backend).stdout.strip()
        self.assertRegex(handle, rf"^{backend}:\d+$")
        return handle

    def status(self, handle):
        return json.loads(self.spare("status", handle, "--json").stdout)

    def wait_for(self, condition, what, timeout=120):
        deadline = time.time() + timeout
        while not condition():
            if time.time() > deadline:
                self.fail(f"timed out waiting for {what}\n{self.diagnostics()}")
            time.sleep(0.2)

    def wait_for_state(self, handle, states, timeout=120):
        found = {}

        def reached():
            found.update(self.status(handle))
            if os.environ.get("SPARE_TRACE_STATES"):
                print(time.time(), found["state"], found["detail"], file=sys.stderr)
            return found["state"] in states

        self.wait_for(reached, f"{handle} to be {' or '.join(states)}", timeout)
        return found

    def log_of(self, handle):
        return self.spare("logs", handle).stdout

    # The job a move or a preemption stops: LONG_SECONDS of stepping on one rank at the
    # rate this build steps here (a 384 x 320 grid: about 30000 steps/s on two idle
    # cores; the sanitizers' build is many times slower), many times what a move or
    # Slurm's preemption takes to reach it (under a second), so that it comes mid-run,
    # and no longer: its reference run and the moved job's rest are plain stepping.
    # Sized by a measured rate, not a step count: 150000 steps took 5 s in the plain
    # build and over 180 s under the sanitizers beside another test. No periodic
    # checkpoints: the drain's is the one the job resumes from.
    LONG_SECONDS = 8
    LONG_GRID = {"nx": "384", "ny": "320"}

    @functools.cached_property
    def long_steps(self):
        global _one_rank_step_rate
        if _one_rank_step_rate is None:
            probe = self.job_file("rate-probe.ini", job={"steps": "3000", "ranks": "1"},
                                  checkpoint={"interval_steps": "0", "interval_seconds": "0"},
                                  heat2d=self.LONG_GRID)
            ran = self.spare("run", probe, "--output", self.tmp / "rate-probe", "--fresh",
                             timeout=600)
            done = re.search(r"done: (\d+) steps in ([\d.]+) s", ran.stdout + ran.stderr)
            self.assertIsNotNone(done, ran.stderr)
            _one_rank_step_rate = int(done.group(1)) / max(float(done.group(2)), 1e-3)
            shutil.rmtree(self.tmp / "rate-probe", ignore_errors=True)
        steps = max(3000, round(_one_rank_step_rate * self.LONG_SECONDS))
        print(f"the long job: {steps} steps ({_one_rank_step_rate:.0f} steps/s on one rank "
              "measured here)", file=sys.stderr)
        return steps

    def long_job_file(self, **job):
        return self.job_file(job={"steps": str(self.long_steps), **job},
                             checkpoint={"interval_steps": "0", "interval_seconds": "0"},
                             heat2d=self.LONG_GRID)

    def start_job_to_move(self, backend):
        """Submits the job a move test moves, waits until it steps; returns (job, handle)."""
        job = self.long_job_file(ranks="1")
        handle = self.submit(job, backend)
        self.wait_for(lambda: self.stepping(handle), f"{handle} to step")
        return job, handle

    def moved(self, handle, backend):
        """`spare move HANDLE --to BACKEND`; returns the new handle."""
        done = self.spare("move", handle, "--to", backend)
        new = done.stdout.strip()
        self.assertRegex(new, rf"^{backend}:\d+$", done.stderr)
        self.assertIn(f"moved {handle} to {new} from the checkpoint step-", done.stderr)
        self.assertEqual(self.status(handle)["moved_to"], new)
        self.assertEqual(self.status(handle)["state"], "stopped")
        # The move is in the job's log on both sides.
        self.assertRegex(self.log_of(handle),
                         rf"\[spare\] \S+ moved to {new} from its checkpoint step-\d+")
        self.assertRegex(self.log_of(new),
                         rf"\[spare\] \S+ moved here from {handle} with its checkpoint step-\d+")
        return new

    def stopped_step(self, handle):
        """The step its log says it stopped at after a checkpoint (a drain)."""
        found = re.search(r"stopped at step (\d+) after a checkpoint", self.log_of(handle))
        self.assertIsNotNone(found, self.log_of(handle))
        return int(found.group(1))

    def start_pool_with_a_volunteer(self, cpus=2):
        """A real `spare pool` and a real `spare volunteer` lending `cpus` CPUs, both on
        loopback (a group of one: mpirun here); returns the pool's backends.ini section."""
        section = self.start_empty_pool()
        self.pool.add_volunteer(cpus)
        return section

    def pool_log(self, handle):
        """A pool job's log, as `spare logs` prints it."""
        return self.spare("logs", handle).stdout

    def start_empty_pool(self):
        """A real `spare pool` that no volunteer has joined; returns its backends.ini section."""
        self.pool = LoopbackPool(SPARE, self.tmp, self.env)
        self.addCleanup(self.pool.close)
        self.pool_url, self.pool_token = self.pool.url, self.pool.token
        self.pool_fingerprint = self.pool.fingerprint
        return self.pool.section()

    def started(self, handle):
        """Whether the job's ranks have started (its log says so)."""
        return re.search(r"ranks? started", self.log_of(handle))

    def stepping(self, handle):
        """Whether the job has stepped since its ranks started (a progress line past
        step 0): a checkpoint it makes now is past where it started."""
        return re.search(r"\] step [1-9]\d*/\d+ ", self.log_of(handle))

    def fetched_digest(self, handle):
        into = self.tmp / f"fetched-{handle.replace(':', '-')}"
        self.spare("fetch", handle, into)
        return result_digest(into)
