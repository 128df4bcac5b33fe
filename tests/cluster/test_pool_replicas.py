"""A highly available pool: three replicas of `spare pool --etcd` on a real
three-member etcd cluster, two laptops lending. A replica is killed (SIGKILL),
stopped beyond its lease (SIGSTOP), or stopped gracefully (SIGTERM), and an
etcd member dies, while a job runs: the job must keep stepping without a
restart and end with the bits of a failure-free `spare run`. Needs root and
etcd; exits 77 (skipped) otherwise."""

import os
import re
import signal
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import etcd_cluster  # noqa: E402
import laptop_cluster  # noqa: E402
from pool_test_case import CHAOS_STEPS, PoolTestCase  # noqa: E402
import test_pool  # noqa: E402  (its LaptopFailures, not run from here under its own name)
from replicated_pool import LEASE_TTL, ReplicatedPoolCluster  # noqa: E402


def setUpModule():
    laptop_cluster.exit_unless_available()
    if not etcd_cluster.available():
        print("etcd is not installed (apt-get install etcd-server): skipped", file=sys.stderr)
        sys.exit(77)


class ReplicatedPoolTestCase(PoolTestCase):
    """What the tests of a pool of three replicas share."""
    cluster_class = ReplicatedPoolCluster
    laptops = 2

    def kill_and_elect_another(self, old, passed_over):
        """Kills replica `old`, with `passed_over` frozen until another leads; returns that one."""
        self.pool.signal_replica(passed_over, signal.SIGSTOP)
        try:
            self.pool.kill_replica(old)
            new, _, _ = self.pool.wait_for_leader(other_than=old)
        finally:
            self.pool.signal_replica(passed_over, signal.SIGCONT)
        self.assertNotEqual(new, passed_over)
        return new


class ReplicatedCheckpoints(ReplicatedPoolTestCase):
    """The replicas' copies of checkpoints (run under the sanitizers too)."""

    def test_a_one_volunteer_job_is_held_on_two_replicas(self):
        """A group of one volunteer has no partner copies: its checkpoint is
        held once the leader's vault and another replica have it whole. The
        volunteer and the leader killed together, the next leader (not the
        one with the copy) fetches it from that one, and the job resumes from
        it on the other laptop with `spare run`'s bits."""
        # Checkpoints every second, for a run of 13 s at least here: a clean
        # clone's CI once saw none held in a 6 s run (the copies' latency, not
        # yet explained; see the session's note).
        job_file = self.long_job_file(120000, job={"ranks": "1"})
        reference = self.reference_digest(job_file)
        job = self.pool.submit(job_file)
        status = self.pool.wait_until(job, lambda s: s["state"] == "running" and s["checkpoint"],
                                      what="a checkpoint held")
        [volunteer] = status["volunteers"]
        held = status["checkpoint"]
        step_dir = f"step-{held:012d}"
        old, _ = self.pool.leader()
        self.assertIn(f"job {job}'s {step_dir} copied to replica", self.pool.replica_log(old))
        [holder] = [k for k in self.pool.replicas if k != old and
                    f"job {job}'s {step_dir} kept for the other replicas" in self.pool.replica_log(k)]
        self.pool.kill_laptop(self.laptop_named(volunteer))
        new = self.kill_and_elect_another(old, holder)
        status = self.pool.wait_done(job)
        starts = self.started_steps(job)
        print(f"held {held} on replicas {old} and {holder}; groups started at {starts}",
              file=sys.stderr)
        self.assertGreaterEqual(starts[-1], held)
        self.assertEqual(self.fetched_digest(job), reference)
        self.assertRegex(self.pool.replica_log(new),
                         rf"job {job}'s step-\d+/MANIFEST.json fetched from replica")


class ReplicatedPool(ReplicatedPoolTestCase):
    def running(self, steps=CHAOS_STEPS):
        """A job's file, its reference digest, and the job once it is past its first checkpoint."""
        job_file = self.job_file(job={"steps": str(steps)})
        reference = self.reference_digest(job_file)
        job = self.pool.submit(job_file)
        self.pool.wait_until(job, lambda s: s["state"] == "running" and s["step"] >= 400,
                             what="running past step 400")
        return job_file, reference, job

    def assert_stepped_through(self, job, reference):
        """The job ends done, never restarted, with the reference's bits."""
        status = self.pool.wait_done(job)
        self.assertEqual(status["restarts"], 0, self.pool.spare("logs", job).stdout)
        self.assertEqual(self.started_steps(job), [0])  # one group, from the start
        self.assertEqual(self.fetched_digest(job), reference)

    def direct(self, k):
        return self.pool.answer(k)[0]

    def wait_for_log(self, k, pattern, timeout=LEASE_TTL + 10):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.pool.replica_log(k)):
            self.assertLess(time.monotonic(), deadline,
                            f"replica {k} never logged {pattern!r}:\n{self.pool.replica_log(k)}")
            time.sleep(0.2)

    def test_the_leader_killed_mid_job(self):
        _, reference, job = self.running()
        old, epoch, _ = self.pool.wait_for_leader()
        step = self.pool.status(job)["step"]
        self.pool.kill_replica(old)
        new, new_epoch, seconds = self.pool.wait_for_leader(other_than=old)
        print(f"replica {old} killed at step {step}: replica {new} leads after {seconds:.2f} s, "
              f"epoch {epoch} -> {new_epoch}", file=sys.stderr)
        self.assertLessEqual(seconds, LEASE_TTL + 2)
        self.assertGreater(new_epoch, epoch)
        # Every agent talks to the new leader: both laptops live there, and the job steps on.
        self.pool.wait_for_volunteers(2, timeout=LEASE_TTL + 5)
        self.pool.wait_until(job, lambda s: s["step"] > step + 300 or s["state"] == "done",
                             what="stepping on under the new leader")
        self.assert_stepped_through(job, reference)
        self.assertIn("leads the pool", self.pool.replica_log(new))
        # `spare status` says who leads now, and in which epoch.
        leader, now_epoch = self.pool.leader()
        self.assertRegex(self.pool.spare("status").stdout,
                         rf"leader: {self.pool.replica_urls[leader]} since .*, epoch {now_epoch}")

    def test_a_follower_answers_the_dashboard_with_the_leaders_reply(self):
        """The dashboard a person opened on any replica keeps working across a
        failover: a follower answers the dashboard's reads (its header) with
        the leader's reply, as a browser may not follow a 307 to another
        origin; every other request still gets the 307."""
        job = self.pool.submit(self.job_file(job={"steps": "600"}))
        self.pool.wait_done(job)
        dashboard = {"Spare-Dashboard": "1"}
        reads = ["/api/v1/dashboard", f"/api/v1/jobs/{job}", f"/api/v1/jobs/{job}/log?after=1",
                 f"/api/v1/jobs/{job}/shards", f"/api/v1/jobs/{job}/progress"]

        def answers(k):
            return [self.pool.answer(k, path, timeout=5, headers=dashboard) for path in reads]
        leader, _ = self.pool.leader()
        followers = [k for k in self.pool.replicas if k != leader]
        for k in followers:
            self.assertEqual(self.direct(k), 307)
            self.assertEqual(self.pool.answer(k, reads[0])[0], 307)  # not the dashboard's
            self.assertEqual(self.pool.answer(k, "/api/v1/pool", headers=dashboard)[0], 307)
            self.assertEqual(self.pool.answer(k, f"/api/v1/jobs/{job}/result/result.h5",
                                              headers=dashboard)[0], 307)
        own = answers(leader)
        self.assertEqual([status for status, _ in own], [200] * len(reads))
        self.assertEqual([j["job"] for j in own[0][1]["jobs"]], [job])
        self.assertTrue(own[2][1]["events"])
        for k in followers:
            forwarded = answers(k)
            self.assertEqual([status for status, _ in forwarded], [200] * len(reads))
            for (_, theirs), (_, mine) in zip(forwarded[1:], own[1:]):
                self.assertEqual(theirs, mine)
            self.assertEqual(forwarded[0][1]["jobs"], own[0][1]["jobs"])
        # The leader killed: the follower left forwards to the new one.
        self.pool.kill_replica(leader)
        new, _, _ = self.pool.wait_for_leader(other_than=leader)
        [other] = [k for k in followers if k != new]
        # Until the follower has seen the new leader in etcd (it looks every
        # 0.25 s) it answers 503 "try again", as any replica does during an
        # election, and the dashboard polls again; once it has, it forwards.
        deadline = time.monotonic() + 5
        forwarded = answers(other)
        while any(status != 200 for status, _ in forwarded) and time.monotonic() < deadline:
            time.sleep(0.1)
            forwarded = answers(other)
        self.assertEqual([status for status, _ in forwarded], [200] * len(reads))
        self.assertEqual(forwarded[1][1]["state"], "done")

    def test_a_leader_stopped_beyond_its_lease_is_fenced_and_rejoins_as_a_follower(self):
        _, reference, job = self.running()
        old, epoch, _ = self.pool.wait_for_leader()
        self.pool.signal_replica(old, signal.SIGSTOP)
        new, new_epoch, seconds = self.pool.wait_for_leader(other_than=old)
        self.assertLessEqual(seconds, LEASE_TTL + 2)
        time.sleep(1)
        self.pool.signal_replica(old, signal.SIGCONT)
        # Woken, it has been replaced: it never answers as the leader again.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertIn(self.direct(old), (307, 503))
            time.sleep(0.1)
        self.wait_for_log(old, r"no longer leads \(epoch \d+\): its (lease|election key is gone)")
        # It campaigns again, as a follower; one replica leads (on two busy
        # cores, perhaps another than the first to take over).
        members = self.pool.spare("pool", "members", *self.pool.store_args(), env_pool=False)
        self.assertIn(f"{self.pool.replica_urls[old]}\tfollower", members.stdout)
        self.assertEqual(members.stdout.count("\tleader\t"), 1, members.stdout)
        self.assert_stepped_through(job, reference)

    def test_a_leader_cut_off_the_network_serves_nothing_as_the_leader(self):
        _, reference, job = self.running()
        old, epoch = self.pool.leader()
        self.pool.cut_replica(old)
        cut = time.monotonic()
        new, new_epoch, seconds = self.pool.wait_for_leader(other_than=old)
        self.assertLessEqual(seconds, LEASE_TTL + 2)
        self.assertGreater(new_epoch, epoch)
        # No split brain: once two thirds of its lease have passed without a
        # renewal, the cut replica answers even its own machine as a follower.
        time.sleep(max(0.0, LEASE_TTL * 2 / 3 + 0.5 - (time.monotonic() - cut)))
        self.assertEqual(self.pool.answer_within(old), 503)
        # Its lease not renewed, or (stalled on two busy cores past the cut)
        # its key found gone at the last answer it had from etcd; said once
        # its leadership's last request to etcd, which cannot be reached, timed out.
        self.wait_for_log(old, r"no longer leads \(epoch \d+\): its (lease|election key is gone)")
        self.pool.restore_replica(old)
        self.assert_stepped_through(job, reference)
        # Back on the network, it follows the new leader.
        self.assertEqual(self.pool.answer_within(old), 307)

    def test_a_graceful_stop_hands_over_in_under_a_second(self):
        old, epoch, _ = self.pool.wait_for_leader()
        others = [k for k in self.pool.replicas if k != old]
        stopped = time.monotonic()
        self.pool.signal_replica(old, signal.SIGTERM)
        served = None
        while served is None and time.monotonic() - stopped < 5:
            for k in others:
                if self.direct(k) == 200:
                    served = time.monotonic() - stopped
                    break
        print(f"replica {old} stopped: another served after {served} s", file=sys.stderr)
        self.assertIsNotNone(served)
        self.assertLess(served, 1.0)
        self.assertEqual(self.pool.stop_replica(old), 0)

    def test_etcd_members_die_one_at_a_time(self):
        """A follower member, then etcd's own leader: nothing the job sees."""
        _, reference, job = self.running()
        etcd = self.pool.etcd
        leader = etcd.leader()
        follower = next(k for k in etcd.processes if k != leader)
        etcd.kill(follower)
        step = self.pool.status(job)["step"]
        self.pool.wait_until(job, lambda s: s["step"] > step + 200 or s["state"] == "done",
                             what="stepping with one etcd member dead")
        etcd.start(follower)
        etcd.wait_healthy()
        etcd.kill(etcd.leader())
        step = self.pool.status(job)["step"]
        self.pool.wait_until(job, lambda s: s["step"] > step + 200 or s["state"] == "done",
                             what="stepping after etcd's leader died")
        self.assert_stepped_through(job, reference)

    def test_a_volunteer_and_the_leader_die_together(self):
        """No held checkpoint is lost: the job resumes from the newest the
        pool held, gathered from the volunteer left (its own shards and its
        partner copies) by a leader that never received them."""
        # Held means each shard on two volunteers (own and partner copies),
        # as their heartbeats say. Checkpoints a second apart, and only one
        # kept: the volunteers write newer ones after the held one, and must
        # keep it all the same.
        job_file = self.long_job_file(60000, checkpoint={"keep": "1"})
        reference = self.reference_digest(job_file)
        job = self.pool.submit(job_file)
        status = self.pool.wait_until(job, lambda s: s["state"] == "running" and s["checkpoint"],
                                      what="a checkpoint held")
        # The volunteer that stays has written a newer one since.
        survivor = self.laptop_named(status["volunteers"][0])
        laptop = self.laptop_named(status["volunteers"][1])
        newest = []
        while not newest or newest[-1] <= status["checkpoint"]:
            status = self.pool.status(job)
            self.assertEqual(status["state"], "running")
            newest = self.own_checkpoints(survivor, job)
        held = status["checkpoint"]
        print(f"held {held}, volunteer {survivor} keeps {newest}", file=sys.stderr)
        old, _ = self.pool.leader()
        self.pool.kill_replica(old)
        self.pool.kill_laptop(laptop)
        self.pool.wait_for_leader(other_than=old)
        status = self.pool.wait_done(job)
        self.assertGreaterEqual(status["restarts"], 1)
        starts = self.started_steps(job)
        print(f"held {held} when both died; groups started at {starts}", file=sys.stderr)
        self.assertGreaterEqual(starts[-1], held)
        self.assertEqual(self.fetched_digest(job), reference)

    def test_an_input_outlives_the_replica_that_received_it(self):
        """An input is on a second replica before its upload is answered: the
        replica that received it is killed before any volunteer fetched it,
        and the job runs from it under the next leader, with `spare run`'s bits."""
        job_file, sha256 = self.job_from_a_file(600, seed=11)
        reference = self.reference_digest(job_file)
        # No volunteer fetches anything meanwhile.
        stopped = [self.pool.agents[k].pid for k in self.pool.agents]
        for pid in stopped:
            os.killpg(pid, signal.SIGSTOP)
        copies = []
        try:
            job = self.pool.submit(job_file)
            old, _ = self.pool.leader()
            self.assertIn(f"input {sha256} received", self.pool.replica_log(old))
            copies = [k for k in self.pool.replicas if k != old and
                      f"input {sha256} kept for the other replicas" in self.pool.replica_log(k)]
            self.assertEqual(len(copies), 1)
            # The third leads, and has to fetch the input from the copy's replica.
            new = self.kill_and_elect_another(old, copies[0])
        finally:
            for pid in stopped:
                os.killpg(pid, signal.SIGCONT)
        self.assertNotIn(new, copies)
        status = self.pool.wait_done(job)
        self.assertEqual(status["step"], 600)
        self.assertEqual(self.fetched_digest(job), reference)
        self.assertIn(f"input {sha256} fetched from replica {self.pool.replica_urls[copies[0]]}",
                      self.pool.replica_log(new))

    def test_a_result_outlives_the_replica_that_merged_it(self):
        """A job is done once its result is on a second replica: with the
        other replicas down it waits, finishing; once one is back it is done;
        the replica that merged it is killed before anyone fetched it, and the
        next leader (not the one with the copy) serves `spare run`'s bits,
        fetched from the copy by its digest."""
        job_file = self.job_file(job={"steps": "600"})
        reference = self.reference_digest(job_file)
        old, _ = self.pool.leader()
        others = [k for k in self.pool.replicas if k != old]
        for k in others:
            self.pool.kill_replica(k)
        job = self.pool.submit(job_file)
        self.pool.wait_until(job, lambda s: s["state"] == "finishing", what="finishing")
        # Once its final checkpoint is whole there (the volunteers' uploads),
        # the leader merges the result, and cannot keep it alone.
        refused = (f"job {job}: cannot write the result: job {job}'s result is not kept: "
                   "no other replica took a copy")
        deadline = time.monotonic() + 60
        while refused not in self.pool.replica_log(old):
            self.assertLess(time.monotonic(), deadline,
                            f"the result was never refused:\n{self.pool.replica_log(old)}\n"
                            f"{self.pool.agents_now()}")
            self.assertEqual(self.pool.status(job)["state"], "finishing")
            time.sleep(0.2)
        waited = time.monotonic() + 2
        while time.monotonic() < waited:
            self.assertEqual(self.pool.status(job)["state"], "finishing")
            time.sleep(0.2)
        for k in others:
            self.pool.start_replica(k)
        self.pool.wait_done(job)
        kept = f"job {job}'s result.h5 kept for the other replicas"
        copies = [k for k in self.pool.replicas if k != old and kept in self.pool.replica_log(k)]
        self.assertEqual(len(copies), 1)
        new = self.kill_and_elect_another(old, copies[0])
        self.assertEqual(self.fetched_digest(job), reference)
        self.assertIn(f"job {job}'s result.h5 fetched from replica "
                      f"{self.pool.replica_urls[copies[0]]}", self.pool.replica_log(new))

    def test_two_etcd_members_lost_then_back(self):
        """No quorum: no replica leads, a submission fails saying why, the
        running group steps on to its end; quorum back, nothing is lost."""
        job_file, reference, job = self.running()
        etcd = self.pool.etcd
        lost = sorted(etcd.processes)[:2]
        for k in lost:
            etcd.kill(k)
        deadline = time.monotonic() + LEASE_TTL + 5
        while any(self.direct(k) == 200 for k in self.pool.replicas):
            self.assertLess(time.monotonic(), deadline, "a replica leads without etcd's quorum")
            time.sleep(0.2)
        refused = self.pool.spare("submit", job_file, expect=None)
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn("no replica of this pool leads now", refused.stderr)
        self.assertIn("etcd", refused.stderr)
        # The group steps on without the pool: its head writes its final checkpoint.
        head = self.pool.volunteer_laptops()[0]
        final = self.pool.cluster.laptop(head).storage / "jobs" / str(job) / "checkpoints"
        deadline = time.monotonic() + 120
        while self.on_agent_mounts(head, ["test", "-e", str(final / f"step-{CHAOS_STEPS:012d}")]) \
                .returncode != 0:
            self.assertLess(time.monotonic(), deadline, "the group stopped without etcd")
            time.sleep(0.5)
        for k in lost:
            etcd.start(k)
        etcd.wait_healthy()
        self.assert_stepped_through(job, reference)



class ReplicatedUnusedInputs(PoolTestCase):
    """An input no job names goes from every replica: the leader removes its
    record and file, the others their copies (a file with no record, older
    than the unused-input time, 10 s at least)."""
    cluster_class = ReplicatedPoolCluster
    laptops = 1
    coordinator_args = ("--unused-input-time", "1")

    def replica_input(self, k, sha):
        return self.pool.logs / f"replica{k}-state" / "inputs" / sha

    def test_an_unused_input_goes_from_every_replica(self):
        leader, _ = self.pool.leader()
        holders = []  # the leader's and one other's

        def copies(sha):
            holders[:] = [k for k in self.pool.replicas if self.replica_input(k, sha).exists()]
            return [self.replica_input(k, sha) for k in holders]
        sha = self.upload_unused_input(self.pool.replica_urls[leader], copies, copies=2)
        self.assertIn(f"input {sha} of scientists removed: no active job names it",
                      self.pool.replica_log(leader))
        other = next(k for k in holders if k != leader)
        self.assertIn(f"input {sha} removed: the pool has no record of it",
                      self.pool.replica_log(other))


class ReplicatedLaptopFailures(test_pool.LaptopFailures):
    """The chaos suite, unchanged, on three replicas: laptops die, are cut,
    leave and join; "the coordinator" killed is every replica at once. All
    ten pass (about ten minutes here: `python3 test_pool_replicas.py
    ReplicatedLaptopFailures`); ctest runs the one below, the suite itself
    runs on one coordinator in test_pool.py."""
    cluster_class = ReplicatedPoolCluster

    def test_a_laptop_dies(self):
        super().test_a_laptop_dies()


if __name__ == "__main__":
    unittest.main()
