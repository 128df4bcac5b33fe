"""Crash atomicity of the coordinator with real processes: `spare pool` is
killed (SIGKILL, by its own test hook) at every commit of one job's life and
started again each time; the job must end done once, bit-identical to a local
`spare run`, never with two groups at once. Needs root; exits 77 (skipped)
otherwise."""

import json
import os
import random
import re
import signal
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

# setUpModule skips the module without a laptop cluster.
from pool_test_case import PoolTestCase, setUpModule  # noqa: E402,F401

# A few seconds of running on two laptops (at about 0.3 ms a step), long
# enough for the coordinator to die several times while the group runs, with
# a checkpoint arriving every second or so.
STEPS = 12000
INTERVAL = 3000


class CoordinatorKilledAtEveryCommit(PoolTestCase):
    """Armed with SPARE_TEST_KILL_AT_COMMIT=1, each coordinator process
    SIGKILLs itself at its first commit (PoolStore::commit), before the
    transaction's COMMIT or right after it returned (SPARE_TEST_KILL_WHEN),
    and the test starts it again on the same state, alternating the two. So
    every process commits at most one transaction: each commit of the job's
    life (submit, group formed, each member ready, launch, events forwarded,
    each checkpoint held, the group's exit, the result) is followed by a kill,
    and most are first tried and killed uncommitted. Each "after" kill keeps
    its commit, so the walk always moves on.

    Why a coordinator that commits non-atomically fails here: if one event's
    changes went into two transactions (the job's new state and its group,
    a group's end and its job's re-queueing, the records and their log
    lines), a process dies between the two. A job left `starting` without an
    open group never gets one (only queued jobs are given groups): it is
    stuck and the wait below fails. A group left open while its job is
    queued again makes the next tick form a second one: two groups open at
    once in the event log. A log line kept without its record, or a record
    without its line, makes the groups the pool counts differ from the
    groups its log tells. A job whose submit is kept twice is two jobs in
    `spare status`. (A store that wrote without any transaction is for
    PoolStore's unit test ACommitThatFailsLeavesNothingOfItself to catch:
    killed before COMMIT, all its writes would be there, as after.)"""

    laptops = 2

    def setUp(self):
        super().setUp()
        seed = int(os.environ.get("SPARE_TEST_SEED") or random.randrange(1 << 32))
        print(f"seed {seed} (SPARE_TEST_SEED={seed} runs this walk's pauses again)",
              file=sys.stderr)
        self.random = random.Random(seed)
        self.when = self.random.choice(("before", "after"))  # the next process's kill
        self.kills = []  # (before|after, the job's state last seen) per process killed
        self.seen = "not submitted"
        self.deadline = time.time() + 180  # for the walk: a few seconds of it per kill at most

    def test_a_job_survives_a_kill_at_every_commit_of_its_life(self):
        started = time.time()
        job_file = self.job_file(job={"steps": str(STEPS)},
                                 checkpoint={"interval_steps": str(INTERVAL)})
        self.assertEqual(self.scientists_jobs(), [])
        self.pool.kill_coordinator()
        self.start_armed()
        job, submits = self.submit_once(job_file)
        while self.seen != "done":
            self.check_time(f"job {job} stuck {self.seen}")
            self.keep_up()
            try:
                status = self.pool.status(job)
            except AssertionError:
                continue  # killed meanwhile: started again above
            self.seen = status["state"]
            self.assertNotIn(self.seen, ("failed", "cancelled"), status)
            time.sleep(0.1)
        walked = time.time() - started

        # After a last restart, unarmed: nothing is stuck, nothing doubled.
        self.pool.kill_coordinator()
        self.pool.start_coordinator()
        final = self.pool.wait_done(job, timeout=30)
        by_mode = {mode: sum(1 for m, _ in self.kills if m == mode) for mode in ("before", "after")}
        by_state = {}
        for _, state in self.kills:
            by_state[state] = by_state.get(state, 0) + 1
        print(f"job {job}: done after {len(self.kills)} kills of the coordinator in {walked:.1f} s "
              f"({by_mode['before']} before a COMMIT, {by_mode['after']} after one; by the job's "
              f"state last seen: {by_state}); {submits} submits; {final['restarts']} restarts "
              f"of the job", file=sys.stderr)
        self.assertEqual(final["step"], STEPS)
        self.assertEqual([j["job"] for j in self.scientists_jobs()], [job])
        self.assertEqual([j["job"] for j in self.pool.pool_status()["jobs"]], [job])
        # Each process kept at most one transaction, so the kills after a COMMIT
        # are the commits of the life: the submit, the group, two readies, the
        # launch, the group's events (a batch or more), the checkpoints held
        # (the final one at least), the group's exit, the result. The kills
        # before a COMMIT alternate with them.
        self.assertGreaterEqual(by_mode["after"], 9, self.kills)
        self.assertGreaterEqual(by_mode["before"], 8, self.kills)
        self.assertGreaterEqual(by_state.get("running", 0), 2, self.kills)

        events = self.pool.events(job)
        kinds = [kind for kind, _ in events]
        self.assertEqual(kinds.count("submitted"), 1, events)
        self.assertEqual(kinds.count("result"), 1, events)
        # Never two groups open at once: each group ends (re-queued, or done)
        # before the next one is formed. Lines the head forwarded twice (the
        # pool kept them and died before it answered) may repeat; these may not.
        open_group = None
        formed = 0
        for kind, text in events:
            if kind == "group":
                self.assertIsNone(open_group, f"group formed while {open_group} was open: "
                                              f"{events}")
                open_group = int(re.match(r"group (\d+):", text).group(1))
                formed += 1
            elif kind == "launch":
                self.assertEqual(int(re.match(r"group (\d+):", text).group(1)), open_group,
                                 events)
            elif kind == "restart" or (kind == "done" and text.startswith("the group finished")):
                self.assertIsNotNone(open_group, events)
                open_group = None
        self.assertIsNone(open_group, events)
        self.assertEqual(final["groups"], formed, events)
        self.assertEqual(final["restarts"], formed - 1, events)
        self.assertEqual(self.fetched_digest(job), self.reference_digest(job_file))

    # The walk.

    def start_armed(self):
        """Starts the coordinator armed to kill itself at its first commit;
        again if it did so before it listened (recalling a checkpoint)."""
        while True:
            try:
                self.pool.start_coordinator(environment={"SPARE_TEST_KILL_AT_COMMIT": "1",
                                                         "SPARE_TEST_KILL_WHEN": self.when})
                return
            except RuntimeError:
                self.reap_killed()

    def keep_up(self):
        """Starts the coordinator again if its hook killed it."""
        if self.pool.coordinator.poll() is not None:
            self.reap_killed()
            self.start_armed()

    def check_time(self, what):
        self.assertLess(time.time(), self.deadline,
                        f"{what}; kills {self.kills}; logs in {self.pool.logs}")

    def reap_killed(self):
        self.check_time("the coordinator is killed again and again")
        status = self.pool.reap_coordinator()
        self.assertEqual(status, -signal.SIGKILL,
                         f"the coordinator exited with {status}, not by its hook; see "
                         f"{self.pool.logs / 'pool.log'}")
        self.kills.append((self.when, self.seen))
        self.when = "after" if self.when == "before" else "before"
        time.sleep(self.random.uniform(0.0, 0.2))  # restarted at once, or a moment later

    def submit_once(self, job_file):
        """Submits as a user would to a pool that may drop the connection: a
        submit that fails may or may not have been kept, so the user looks
        whether the pool has the job and submits again only if not. Returns
        the job and how many times `spare submit` ran."""
        submits = 0
        while True:
            self.keep_up()
            jobs = self.scientists_jobs(expect=None)
            if jobs is None:
                continue  # killed meanwhile
            if jobs:
                self.assertEqual(len(jobs), 1, jobs)
                return jobs[0]["job"], submits
            # Killed before its COMMIT, a submit is not kept; the next process
            # keeps it (and is killed after): never more than two.
            self.assertLess(submits, 2, f"the pool never kept the job; logs in {self.pool.logs}")
            submits += 1
            done = self.pool.spare("submit", job_file, expect=None)
            if done.returncode == 0:
                return int(done.stdout.strip()), submits

    def scientists_jobs(self, expect=0):
        """The jobs `spare status --json` lists to the scientist; None if the
        pool did not answer and `expect` is None."""
        listing = self.pool.spare("status", "--json", expect=expect)
        if listing.returncode != 0:
            return None
        return json.loads(listing.stdout)["jobs"]


if __name__ == "__main__":
    unittest.main()
