"""The volunteer pool on the laptop cluster, with real processes and real
kills: every job's result must equal, bit for bit, a failure-free local
`spare run` of the same job file. Needs root; exits 77 (skipped) otherwise."""

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from pool_cluster import SPARE  # noqa: E402
# setUpModule skips the module without a laptop cluster.
from pool_test_case import CHAOS_STEPS, INTERVAL, PoolTestCase, setUpModule  # noqa: E402,F401


class PoolBasics(PoolTestCase):
    laptops = 2
    agent_args = ("--input-cache", "300K")  # one 240 KiB input fits, two do not

    def test_job_on_two_laptops_equals_local_run(self):
        job_file = self.job_file(job={"steps": "800"})
        job = self.pool.submit(job_file)
        status = self.pool.wait_done(job)
        self.assertEqual(status["step"], 800)
        self.assertEqual(status["restarts"], 0)
        self.assertEqual(len(status["volunteers_used"]), 2)
        self.assertEqual(self.fetched_digest(job), self.reference_digest(job_file))
        self.assertTrue((self.tmp / f"result-{job}" / "result.xdmf").exists())
        self.check_segments(job, status, self.tmp / "reference")
        # The job is over: the volunteers remove its files from their storage.
        for k in self.pool.volunteer_laptops():
            job_dir = self.pool.cluster.laptop(k).storage / "jobs" / str(job)
            deadline = time.time() + 10
            while self.on_agent_mounts(k, ["test", "-e", str(job_dir)]).returncode == 0:
                self.assertLess(time.time(), deadline, f"{job_dir} still on laptop {k}")
                time.sleep(0.2)
            log = (self.pool.logs / f"agent-lap{k}.log").read_text()
            self.assertIn(f"job {job} is over: its files are removed from this volunteer", log)

    def check_segments(self, job, status, reference):
        """The job's segments of work cover its steps from 0, each the work of
        the volunteers that ran it, and end with the validation digest of the
        pool's copy of their checkpoint; the last one is that of the local run's
        final checkpoint (bit-identical state, any rank count)."""
        deadline = time.time() + 30
        while True:  # the digest is computed after the checkpoint is held
            segments = self.pool.status(job)["segments"]
            if segments and all(s["digest"] for s in segments):
                break
            self.assertLess(time.time(), deadline, f"segments without a digest: {segments}")
            time.sleep(0.2)
        self.assertEqual(self.pool.status(job)["segments_total"], len(segments))
        self.assertEqual([s["first_step"] for s in segments],
                         [0] + [s["last_step"] for s in segments[:-1]])
        self.assertEqual(segments[-1]["last_step"], status["steps"])
        for s in segments:
            self.assertRegex(s["digest"], r"^sha256:[0-9a-f]{64}$")
            self.assertTrue(s["shares"], s)
            for share in s["shares"]:
                self.assertIn(share["volunteer"], status["volunteers_used"])
                self.assertGreater(share["ranks"], 0)
        local = subprocess.run([SPARE, "ckpt", "digest", reference, "--step",
                                str(status["steps"]), "--json"],
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(local.returncode, 0, local.stderr)
        self.assertEqual(segments[-1]["digest"], json.loads(local.stdout)["validation_digest"])
        shown = self.pool.spare("status", job).stdout
        self.assertIn(f"steps [{segments[-1]['first_step']}, {status['steps']}) by group", shown)
        self.assertIn(segments[-1]["digest"], shown)

    def test_input_files_reach_volunteers_by_content(self):
        """A job that starts from an HDF5 file: `spare submit` sends the file by
        its SHA-256, each volunteer fetches it once and keeps it, and the result
        equals a local run of the same job file."""
        job_file, sha256 = self.job_from_a_file(600, seed=9)
        first = self.pool.submit(job_file)
        self.assertEqual(self.pool.wait_done(first)["step"], 600)
        self.assertEqual(self.fetched_digest(first), self.reference_digest(job_file))
        stored = self.pool.state / "inputs" / sha256
        self.assertEqual(hashlib.sha256(stored.read_bytes()).hexdigest(), sha256)
        # The same bytes again: neither sent to the pool nor fetched by a volunteer again.
        again = self.pool.spare("submit", job_file)
        self.assertIn(f"sha256 {sha256}, already in the pool", again.stderr)
        second = int(again.stdout.strip())
        self.pool.wait_done(second)
        self.assertEqual(self.fetched_digest(second), self.fetched_digest(first))
        for k in self.pool.volunteer_laptops():
            log = (self.pool.logs / f"agent-lap{k}.log").read_text()
            self.assertEqual(log.count(f"input {sha256} fetched from the pool"), 1, log)
            self.assertIn(f"input {sha256} is cached here", log)
        # Other bytes: fetched, and the first input, used least recently, makes room.
        other = self.write_input(seed=10)
        third = self.pool.submit(job_file)
        self.assertEqual(self.pool.wait_done(third)["step"], 600)
        self.assertEqual(self.fetched_digest(third), self.reference_digest(job_file))
        for k in self.pool.volunteer_laptops():
            log = (self.pool.logs / f"agent-lap{k}.log").read_text()
            self.assertIn(f"input {other} fetched from the pool", log)
            self.assertIn(f"input {sha256} removed: the input cache holds at most 300.00 KiB",
                          log)
            self.assertNotIn(f"input {other} removed", log)

    def test_status_logs_and_cancel(self):
        job = self.pool.submit(self.job_file(job={"steps": "1000000"}))
        self.pool.wait_until(job, lambda s: s["state"] == "running" and s["step"] > 0,
                             what="running")
        text = self.pool.spare("status", job).stdout
        self.assertIn(f"job {job} (chaos, heat2d): running", text)
        self.assertIn("ranks 2 on", text)
        pool_text = self.pool.spare("status").stdout  # what a volunteer must match to join
        self.assertRegex(pool_text, r"pool: Spare \S+; kernel revisions: .*nbody 2")
        self.pool.spare("cancel", job)
        self.assertEqual(self.pool.status(job)["state"], "cancelled")
        # The volunteers stop its processes: no worker is left on any laptop.
        deadline = time.time() + 15
        while time.time() < deadline:
            left = [k for k in self.pool.volunteer_laptops()
                    if any("spare-worker" in _command(pid)
                           for pid in self.pool.cluster.processes(k))]
            if not left:
                break
            time.sleep(0.2)
        self.assertEqual(left, [], "workers still running after cancel")
        fetch = self.pool.spare("fetch", job, self.tmp / "nothing", expect=5)
        self.assertIn("has no result yet: it is cancelled", fetch.stderr)


class PeerInputs(PoolTestCase):
    laptops = 3

    def test_a_volunteer_fetches_an_input_from_the_volunteers_that_cache_it(self):
        """Peer to peer: a job's input reaches a volunteer from the caches of
        the volunteers that ran it before, not from the pool, each copy checked
        by its hash; the result equals a local run's."""
        job_file, sha256 = self.job_from_a_file(300, seed=11, ranks=2)
        first = self.pool.submit(job_file)
        self.assertEqual(self.pool.wait_done(first)["step"], 300)
        logs = {k: (self.pool.logs / f"agent-lap{k}.log").read_text()
                for k in self.pool.volunteer_laptops()}
        holders = [k for k, log in logs.items() if f"input {sha256} fetched from the pool" in log]
        self.assertEqual(len(holders), 2, logs)
        (newcomer,) = set(logs) - set(holders)

        job_file, _ = self.job_from_a_file(300, seed=11, ranks=3)
        second = self.pool.submit(job_file)
        self.assertEqual(self.pool.wait_done(second)["step"], 300)
        self.assertEqual(self.fetched_digest(second), self.reference_digest(job_file))
        log = (self.pool.logs / f"agent-lap{newcomer}.log").read_text()
        fetched = re.search(rf"input {sha256} fetched from volunteer (\S+) \((\d+) bytes\)", log)
        self.assertIsNotNone(fetched, log)
        # A laptop's volunteer is named PREFIX-lapK@ADDRESS.
        self.assertTrue(any(f"-lap{k}@" in fetched.group(1) for k in holders), fetched.group(1))
        self.assertEqual(int(fetched.group(2)),
                         (self.tmp / "case" / "inputs" / "u0.h5").stat().st_size)
        self.assertNotIn(f"input {sha256} fetched from the pool", log)
        for k in holders:
            self.assertIn(f"input {sha256} is cached here",
                          (self.pool.logs / f"agent-lap{k}.log").read_text())


    def test_a_cached_copy_that_is_not_the_input_is_refused_and_the_pool_asked(self):
        """A volunteer serving other bytes under an input's hash (a damaged
        disk, or a liar) is found out by the hash: the member fetching logs it
        and takes the pool's copy, and the result equals a local run's."""
        job_file, sha256 = self.job_from_a_file(300, seed=12, ranks=2)
        self.assertEqual(self.pool.wait_done(self.pool.submit(job_file))["step"], 300)
        holders = [k for k in self.pool.volunteer_laptops()
                   if f"input {sha256} fetched from the pool"
                   in (self.pool.logs / f"agent-lap{k}.log").read_text()]
        self.assertEqual(len(holders), 2)
        for k in holders:
            cached = self.pool.cluster.laptop(k).storage / "inputs" / sha256
            done = self.on_agent_mounts(k, ["sh", "-c", f"head -c 4096 /dev/urandom > {cached}"])
            self.assertEqual(done.returncode, 0, done.stderr)
        # One rank: whichever volunteer runs it finds every other holder's copy false.
        job_file, _ = self.job_from_a_file(300, seed=12, ranks=1)
        second = self.pool.submit(job_file)
        self.assertEqual(self.pool.wait_done(second)["step"], 300)
        self.assertEqual(self.fetched_digest(second), self.reference_digest(job_file))
        (member,) = [k for k in self.pool.volunteer_laptops()
                     if "group 2:" in (self.pool.logs / f"agent-lap{k}.log").read_text()]
        log = (self.pool.logs / f"agent-lap{member}.log").read_text()
        refused = re.findall(rf"group 2: input {sha256} from volunteer \S+ is not it: (.*)", log)
        self.assertEqual(len(refused), 1 if member in holders else 2, log)
        self.assertIn("the content's SHA-256 is", refused[0])
        self.assertIn(f"group 2: input {sha256} fetched from the pool", log)


class BadActors(PoolTestCase):
    laptops = 2

    def test_requests_without_or_with_a_wrong_token_get_401(self):
        import ssl
        import urllib.error
        import urllib.request
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            request = urllib.request.Request(self.pool.url + "/api/v1/jobs", headers=headers)
            with self.assertRaises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, context=context, timeout=10)
            self.assertEqual(refused.exception.code, 401)
        wrong = self.pool.spare("status", "--token", "wrong", expect=2)
        self.assertIn("the pool refused the token (HTTP 401)", wrong.stderr)

    def test_a_client_of_another_protocol_version_is_told_which_the_pool_speaks(self):
        for path, asked in (("/api/v2/jobs", "is of protocol v2"),
                            ("/api/jobs", "of a Spare from before versioned routes")):
            code, body = self.call("GET", path, self.pool.token)
            self.assertEqual(code, 404, body)
            self.assertIn("this pool speaks Spare's pool protocol v1 (/api/v1/...)", body["error"])
            self.assertIn(asked, body["error"])
        code, overview = self.call("GET", "/api/v1/pool", self.pool.token)
        self.assertEqual((code, overview["protocol"]), (200, 1))

    def test_tokens_have_roles_and_volunteers_keys(self):
        job = self.running_job()[0]
        laptop = self.pool.pool_status()["volunteers"][0]["id"]
        scientist, volunteer = self.pool.token, self.pool.volunteer_token
        # A scientist's token lends no machine; a volunteer's submits no job.
        code, body = self.call("POST", "/api/v1/volunteers", scientist, body={"name": "x"})
        self.assertEqual(code, 403)
        self.assertIn("is a scientist token; POST /api/v1/volunteers needs a volunteer token",
                      body["error"])
        submit = self.pool.spare("submit", self.job_file(), "--token", volunteer, expect=2)
        self.assertIn("HTTP 403", submit.stderr)
        self.assertIn("needs a scientist token", submit.stderr)
        # A volunteer's token alone does not let anyone speak for a volunteer.
        for headers in ({}, {"X-Spare-Volunteer": f"{laptop}:not-its-key"}):
            code, body = self.call("POST", f"/api/v1/volunteers/{laptop}/leave", volunteer,
                                    headers=headers)
            self.assertEqual(code, 403)
            self.assertIn("X-Spare-Volunteer: ID:KEY", body["error"])
        # A volunteer computes every kernel in the pool's revision, or not at all:
        # ranks of one job in other arithmetic would not give the job's bits.
        revisions = self.pool.pool_status()["kernels"]
        self.assertEqual(revisions["nbody"], 2)
        # A registration names the address it comes from: this test's, the bridge's.
        here = self.pool.cluster.coordinator_address
        stranger_body = {"name": "stranger", "address": here, "agent_port": 1,
                         "fingerprint": "sha256:" + "0" * 64, "cpus": 1, "memory": 1 << 30}
        code, refused = self.call("POST", "/api/v1/volunteers", volunteer, body=stranger_body)
        self.assertEqual(code, 400)  # an agent from before revisions reports none
        self.assertIn("heat2d in revision none (this pool: 1)", refused["error"])
        self.assertIn("nbody in revision none (this pool: 2)", refused["error"])
        code, refused = self.call("POST", "/api/v1/volunteers", volunteer,
                                   body={**stranger_body, "kernels": {**revisions, "nbody": 1}})
        self.assertEqual(code, 400)
        self.assertIn("volunteer stranger computes nbody in revision 1 (this pool: 2): its "
                      "results would not be the pool's bits", refused["error"])
        # Nor does a key of one's own: a stranger registers, then tries.
        stranger_body["kernels"] = revisions
        code, stranger = self.call("POST", "/api/v1/volunteers", volunteer, body=stranger_body)
        self.assertEqual(code, 200)
        as_stranger = {"X-Spare-Volunteer": f"{stranger['volunteer']}:{stranger['key']}"}
        code, body = self.call("POST", f"/api/v1/volunteers/{laptop}/leave", volunteer,
                                headers=as_stranger)
        self.assertEqual(code, 403)
        self.assertIn(f"may not speak for volunteer {laptop}", body["error"])
        code, body = self.call("GET", f"/api/v1/jobs/{job}/checkpoints/step-{INTERVAL}", volunteer,
                                headers=as_stranger)
        self.assertEqual(code, 403)
        self.assertIn(f"has run no group of job {job}", body["error"])
        # Nor can anyone take over a volunteer's name: that needs its key.
        laptop_name = self.pool.pool_status()["volunteers"][0]["name"]
        code, body = self.call("POST", "/api/v1/volunteers", volunteer, body={
            "name": laptop_name, "address": here, "agent_port": 1,
            "fingerprint": "sha256:" + "1" * 64, "cpus": 1, "memory": 1 << 30,
            "kernels": revisions})
        self.assertEqual(code, 409)
        self.assertIn(f"volunteer {laptop_name} is registered with another key", body["error"])
        stranger_again = stranger_body
        code, _ = self.call("POST", "/api/v1/volunteers", volunteer,
                             body={**stranger_again, "key": "not-its-key"})
        self.assertEqual(code, 409)
        code, again = self.call("POST", "/api/v1/volunteers", volunteer,
                                 body={**stranger_again, "key": stranger["key"]})
        self.assertEqual(code, 200)
        self.assertEqual(again["volunteer"], stranger["volunteer"])
        self.assertNotEqual(again["key"], stranger["key"])
        # The laptop was never made to leave, and the job runs on.
        state = next(v["state"] for v in self.pool.pool_status()["volunteers"]
                     if v["id"] == laptop)
        self.assertEqual(state, "live")
        self.assertEqual(self.pool.status(job)["state"], "running")
        log = (self.pool.logs / "pool.log").read_text()
        self.assertIn(f"may not speak for volunteer {laptop}", log)
        self.assertIn("refused: volunteer stranger computes nbody in revision 1 (this pool: 2)", log)
        self.pool.spare("cancel", job)

    def test_inputs_are_kept_only_under_their_own_hash(self):
        scientist, volunteer = self.pool.token, self.pool.volunteer_token
        claimed = "0" * 64
        code, body = self.call("PUT", f"/api/v1/inputs/{claimed}", scientist, body={"not": "it"})
        self.assertEqual(code, 400)
        self.assertRegex(body["error"], rf"the content's SHA-256 is [0-9a-f]{{64}}, not {claimed}")
        self.assertEqual(self.call("GET", f"/api/v1/inputs/{claimed}", scientist)[0], 404)
        self.assertFalse((self.pool.state / "inputs" / claimed).exists())
        code, body = self.call("GET", f"/api/v1/inputs/{claimed}", volunteer)
        self.assertEqual(code, 403)
        # A job that names an input the pool was never sent is refused at submit.
        code, body = self.call("POST", "/api/v1/jobs", scientist, body={
            "ini": self.job_file().read_text(), "inputs": {"heat2d.initial_file": claimed}})
        self.assertEqual(code, 422)
        self.assertIn(f"the input heat2d.initial_file (SHA-256 {claimed}) is not in the pool",
                      body["error"])

    def test_a_wrong_fingerprint_is_refused(self):
        wrong = self.pool.spare("status", "--fingerprint", "sha256:" + "0" * 64, expect=5)
        self.assertIn("fingerprint", wrong.stderr)

    def test_agent_refuses_to_start_a_shell(self):
        job, head, member, group_file = self.running_job()
        # The head's launch client, asked to start /bin/sh on the other laptop.
        address = self.pool.cluster.laptop(member).address
        attempt = self.on_agent_mounts(head, [SPARE, "launch-client", "--group", group_file,
                                              address, "/bin/sh", "-c", "touch /tmp/pwned"])
        self.assertNotEqual(attempt.returncode, 0)
        self.assertIn("refused", attempt.stderr)
        self.assertIn("only Open MPI's daemon (orted)", attempt.stderr)
        self.assertFalse(Path("/tmp/pwned").exists())
        log = (self.pool.logs / f"agent-lap{member}.log").read_text()
        self.assertIn("refused: only Open MPI's daemon (orted) is started", log)
        # A daemon option that would let it start other programs is refused too.
        attempt = self.on_agent_mounts(head, [SPARE, "launch-client", "--group", group_file,
                                              address, "orted", "-mca", "orte_fork_agent",
                                              "/bin/sh"])
        self.assertIn("MCA parameter 'orte_fork_agent' is not allowed", attempt.stderr)
        self.pool.spare("cancel", job)

    def test_a_head_cannot_run_another_program_on_a_member(self):
        """The daemon a member starts is allowed; the ranks' program comes from
        the head's mpirun later, and only spare-worker --job job.ini may run."""
        job, head, member, group_file = self.running_job()
        marker = Path(tempfile.gettempdir()) / f"spare-pwned-{os.getpid()}"
        subnet = self.pool.cluster.subnet
        # A head that runs its own mpirun with the group's credential.
        attack = self.on_agent_mounts(head, [
            "env", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
            "mpirun", "-n", "1", "--host", f"{self.pool.cluster.laptop(member).address}:1",
            "--bind-to", "none", "--noprefix", "--leave-session-attached",
            "--mca", "plm_rsh_agent", f"{SPARE} launch-client --group {group_file}",
            "--mca", "plm_rsh_no_tree_spawn", "1", "--mca", "btl_tcp_if_include", subnet,
            "--mca", "oob_tcp_if_include", subnet, "/bin/sh", "-c", f"touch {marker}"],
            timeout=60)
        self.assertNotEqual(attack.returncode, 0, attack.stdout + attack.stderr)
        self.assertIn("refused to run '/bin/sh -c touch", attack.stdout + attack.stderr)
        self.assertFalse(marker.exists())
        refused = self.on_agent_mounts(member, [
            "sh", "-c", f"cat {self.pool.cluster.laptop(member).storage}/jobs/{job}/refused.log"])
        self.assertIn("a pool group runs only spare-worker --job job.ini", refused.stdout)
        # The group's own ranks went through the same guard, and run on.
        self.assertEqual(self.pool.status(job)["state"], "running")
        self.pool.spare("cancel", job)

    def test_job_beyond_every_volunteer_is_rejected_at_submit(self):
        too_many = self.pool.spare("submit", self.job_file(job={"ranks": "64"}), expect=3)
        self.assertIn("[job] ranks = 64 exceeds the 2 CPUs", too_many.stderr)
        huge = self.pool.spare("submit", self.job_file(heat2d={"nx": "400000", "ny": "400000"}),
                               expect=3)
        self.assertIn("volunteers lend", huge.stderr)
        on_gpus = self.pool.spare("submit", self.job_file(job={"device": "cuda"}), expect=3)
        self.assertIn("[job] device = cuda, but no volunteer of this pool lends a GPU",
                      on_gpus.stderr)
        self.assertEqual(self.pool.pool_status()["jobs"], [])


class LaptopFailures(PoolTestCase):
    laptops = 4

    def run_with_failure(self, failure, **job_sections):
        """Submits the chaos job, applies `failure(status)` once the pool
        holds a checkpoint, and checks the result against a local run."""
        job_file = self.job_file(**job_sections)
        job = self.pool.submit(job_file)
        status = self.pool.wait_until(
            job, lambda s: s["state"] == "running" and (s["checkpoint"] or 0) >= INTERVAL,
            what="a checkpoint held by the pool")
        failure(job, status)
        final = self.pool.wait_done(job)
        self.assertEqual(self.fetched_digest(job), self.reference_digest(job_file))
        return job, final

    def test_a_laptop_dies(self):
        killed = {}

        def kill_one(job, status):
            since = time.monotonic()
            time.sleep(random.uniform(0.5, 1.5))  # a random step
            killed["step"] = self.pool.status(job)["step"]
            killed["rate"] = (killed["step"] - status["step"]) / (time.monotonic() - since)
            killed["laptop"] = self.laptop_named(random.choice(status["volunteers"]))
            self.pool.kill_laptop(killed["laptop"])

        job, final = self.run_with_failure(kill_one)
        self.assertGreaterEqual(final["restarts"], 1)
        starts = self.started_steps(job)
        self.assertGreaterEqual(len(starts), 2)
        # Work lost: from the last step reported before the kill to the restored
        # step. At most one interval, and the steps of one second: the newest
        # checkpoints are still being written and copied to partners (a few
        # tenths of a second each) when the laptop dies.
        lost = killed["step"] - starts[1]
        bound = INTERVAL + killed["rate"] * 1.0
        self.assertLessEqual(lost, bound, f"lost {lost} steps at {killed['rate']:.0f} steps/s; "
                                          f"starts {starts}")

    def test_a_corrupt_shard_on_one_laptop_is_replaced_by_another_copy(self):
        """Chaos 7: a laptop's own copies of its shards are corrupted while its
        group is down; the re-formed group finds them by their digests and
        restores from other copies (a partner's or the pool's)."""
        seen = {}

        def corrupt_then_restart(job, status):
            victim = self.laptop_named(status["volunteers"][0])
            seen["victim"] = victim
            agent = self.pool.agents[victim].pid
            # Its agent paused (well within the heartbeat timeout), so that it
            # prepares the next group only after the corruption. With a laptop
            # gone no further checkpoint can complete: every rank takes part.
            os.kill(agent, signal.SIGSTOP)
            try:
                self.pool.kill_laptop(self.laptop_named(status["volunteers"][-1]))
                seen["corrupted"] = self.corrupt_shards(victim, job)
            finally:
                os.kill(agent, signal.SIGCONT)

        job, final = self.run_with_failure(corrupt_then_restart)
        self.assertGreater(seen["corrupted"], 0)
        self.assertGreaterEqual(final["restarts"], 1)
        log = (self.pool.logs / f"agent-lap{seen['victim']}.log").read_text()
        self.assertRegex(log, r"this volunteer's copy of (step-\d+)/(shard-\d+\.h5) is corrupt "
                              r"\(.*\); trying other copies")
        # ... and took each of them from somewhere else, checked; or, where the
        # corruption came before any other copy was made (the newest steps, a
        # few tenths of a second old), gave that step up and restored an older
        # one: never the corrupt copy (the result's bits, checked above).
        for step, shard in re.findall(r"this volunteer's copy of (step-\d+)/(shard-\d+\.h5) is "
                                      r"corrupt", log):
            elsewhere = re.search(rf"{step}/{re.escape(shard)} from (volunteer \S+|the pool)\n",
                                  log)
            given_up = re.search(rf"no good copy of {step}/{re.escape(shard)}: ", log)
            self.assertTrue(elsewhere or given_up, f"{step}/{shard}:\n{log}")
            if not elsewhere:
                older = [int(s) for s in re.findall(r"checkpoint step-(\d+) ready", log)]
                self.assertTrue(any(s < int(step[len("step-"):]) for s in older), log)

    def test_shards_the_pool_lost_are_gathered_from_partners(self):
        """Each shard is also on a partner volunteer: a laptop dies and the pool
        loses its copies of that laptop's shards, yet the re-formed group
        gathers them from the partners and the result is the same."""
        seen = {}

        def kill_and_lose_pool_copies(job, status):
            victim = self.laptop_named(status["volunteers"][1])
            storage = self.pool.cluster.laptop(victim).storage
            listing = self.on_agent_mounts(
                victim, ["sh", "-c", f"ls {storage}/jobs/{job}/checkpoints/step-*/shard-*.h5"])
            self.assertEqual(listing.returncode, 0, listing.stderr)
            seen["shards"] = sorted({Path(p).name for p in listing.stdout.split()})
            self.pool.kill_laptop(victim)
            # Its processes are gone: no upload of its is left in flight.
            removed = [f for vault in self.pool.vaults(job) for name in seen["shards"]
                       for f in vault.glob(f"step-*/{name}")]
            for f in removed:
                f.unlink()
            seen["removed"] = len(removed)
            seen["victim"] = victim

        job, final = self.run_with_failure(kill_and_lose_pool_copies)
        self.assertGreater(seen["removed"], 0)
        self.assertGreaterEqual(final["restarts"], 1)
        groups = [text for kind, text in self.pool.events(job) if kind == "group"]
        self.assertRegex(groups[1], r"restoring step \d+")
        logs = "".join((self.pool.logs / f"agent-lap{k}.log").read_text()
                       for k in self.pool.volunteer_laptops() if k != seen["victim"])
        for shard in seen["shards"]:
            self.assertRegex(logs, rf"step-\d+/{re.escape(shard)} from "
                                   rf"(volunteer \S+|this volunteer's partner copy)\n")

    def corrupt_shards(self, k, job):
        """Flips bytes in the middle of every shard of `job` on laptop k; returns how many."""
        storage = self.pool.cluster.laptop(k).storage
        script = (
            "import glob, os\n"
            f"files = glob.glob('{storage}/jobs/{job}/checkpoints/step-*/shard-*.h5')\n"
            "for name in files:\n"
            "    with open(name, 'r+b') as f:\n"
            "        f.seek(os.path.getsize(name) // 2)\n"
            "        data = f.read(64)\n"
            "        f.seek(os.path.getsize(name) // 2)\n"
            "        f.write(bytes(b ^ 0xFF for b in data))\n"
            "print(len(files))\n")
        done = self.on_agent_mounts(k, ["/usr/bin/python3", "-c", script])
        self.assertEqual(done.returncode, 0, done.stderr)
        return int(done.stdout)

    def test_two_laptops_die_one_after_the_other(self):
        def kill_two(job, status):
            first = self.laptop_named(status["volunteers"][0])
            self.pool.kill_laptop(first)
            self.pool.wait_until(job, lambda s: s["state"] == "running" and s["restarts"] >= 1
                                 and s["step"] > (s["checkpoint"] or 0), what="re-formed")
            second = self.laptop_named(self.pool.status(job)["volunteers"][-1])
            self.pool.kill_laptop(second)

        job, final = self.run_with_failure(kill_two)
        self.assertGreaterEqual(final["restarts"], 2)

    def test_network_cut(self):
        def cut(job, status):
            self.pool.cluster.cut_network(self.laptop_named(status["volunteers"][-1]))

        job, final = self.run_with_failure(cut)
        self.assertGreaterEqual(final["restarts"], 1)

    def test_graceful_leave_loses_nothing(self):
        left = {}

        def leave(job, status):
            left["laptop"] = self.laptop_named(status["volunteers"][-1])
            self.pool.agents[left["laptop"]].send_signal(signal.SIGTERM)
            self.assertEqual(self.pool.agents[left["laptop"]].wait(timeout=60), 0)

        job, final = self.run_with_failure(leave)
        # The next group started exactly where the drained one stopped.
        events = self.pool.events(job)
        drained = [int(re.search(r"stopped at step (\d+)", text).group(1))
                   for kind, text in events if kind == "restart" and "stopped at step" in text]
        self.assertEqual(len(drained), 1, events)
        self.assertEqual(self.started_steps(job)[1], drained[0])

    def test_a_new_laptop_joins_and_is_used(self):
        def join_then_fail(job, status):
            new = self.pool.add_laptop()
            self.pool.wait_for_volunteers(self.laptops + 1)
            left = self.laptop_named(status["volunteers"][0])
            self.pool.kill_laptop(left)
            left_name = status["volunteers"][0]
            reformed = self.pool.wait_until(
                job, lambda s: s["state"] == "running" and left_name not in s["volunteers"],
                what="re-formed")
            join_then_fail.new_name = self.pool.cluster.laptop(new).netns
            self.assertTrue(any(v.startswith(join_then_fail.new_name) for v in reformed["volunteers"]),
                            reformed)

        self.run_with_failure(join_then_fail)

    def test_coordinator_killed_and_restarted(self):
        def restart(job, status):
            self.pool.kill_coordinator()
            time.sleep(1.0)
            self.pool.start_coordinator()

        job, final = self.run_with_failure(restart)
        self.assertEqual(final["steps"], CHAOS_STEPS)

    def test_a_group_runs_on_while_the_coordinator_is_down_for_10_s(self):
        """Groups outlive the coordinator: killed and kept down for 10 s (five
        heartbeat timeouts), the group's members reach each other and go on."""
        seen = {}

        def outage(job, status):
            seen["step"] = self.pool.status(job)["step"]
            self.pool.kill_coordinator()
            time.sleep(10.0)
            self.pool.start_coordinator()

        job, final = self.run_with_failure(outage)
        events = self.pool.events(job)
        self.assertEqual(final["restarts"], 0, events)
        self.assertEqual(len(self.started_steps(job)), 1, events)
        self.assertNotIn("restart", [kind for kind, _ in events])
        # Checkpoints written while the pool was away reached its log once it was back.
        self.assertGreater(max(self.written_checkpoints(job)), seen["step"] + INTERVAL, events)
        for k in self.pool.volunteer_laptops():
            log = (self.pool.logs / f"agent-lap{k}.log").read_text()
            self.assertNotIn("stopping what it runs here", log)

    def test_a_laptop_cut_while_the_coordinator_is_down_stops_its_ranks(self):
        """Without the coordinator a cut laptop reaches nobody: it stops what it
        runs within the grace, and so do the members that lost it; the job is
        re-formed once the coordinator is back."""
        seen = {}

        def cut_while_down(job, status):
            seen["victim"] = self.laptop_named(status["volunteers"][-1])
            self.pool.kill_coordinator()
            self.pool.cluster.cut_network(seen["victim"])
            log = self.pool.logs / f"agent-lap{seen['victim']}.log"
            deadline = time.time() + 4 * self.pool.heartbeat_timeout + 10
            while "stopping what it runs here" not in log.read_text():
                self.assertLess(time.time(), deadline, "the cut laptop's group still runs")
                time.sleep(0.2)
            netns = self.pool.cluster.laptop(seen["victim"]).netns
            pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                                  text=True).stdout.split()
            seen["ranks left"] = [c for c in map(_command, pids) if "spare-worker" in c]
            self.pool.start_coordinator()

        job, final = self.run_with_failure(cut_while_down)
        self.assertEqual(seen["ranks left"], [])
        self.assertGreaterEqual(final["restarts"], 1)


def _command(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


if __name__ == "__main__":
    unittest.main()
