"""Hostile volunteers, heads and scientists against a real pool on the laptop
cluster: each finding of issue 13's security probe as a test with real
processes (a group's head running its own mpirun, a registered volunteer
lying in its heartbeats, a scientist with another's job number, anyone at the
port). Each failed on fb4db34. Needs root; exits 77 (skipped) otherwise."""

import hashlib
import http.client
import json
import os
import socket
import sqlite3
import ssl
import stat
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from pool_cluster import SPARE  # noqa: E402
# setUpModule skips the module without a laptop cluster.
from pool_test_case import (PoolTestCase, https_request,  # noqa: E402,F401
                            setUpModule)

# A library whose constructor leaves a mark: what a hostile head would have a
# member's loader run (the probe's was a root shell).
EVIL_LIBRARY = r"""
#include <stdio.h>
__attribute__((constructor)) static void mark(void) {
  FILE* f = fopen("%s", "w");
  if (f) { fputs("ran\n", f); fclose(f); }
}
"""


class HostileHead(PoolTestCase):
    """Finding 1 (critical) and 12: a group's head runs code on a member."""
    laptops = 2

    def test_an_uploaded_library_and_ld_preload_run_nothing_on_a_member(self):
        # Checkpoints kept long enough for the test to aim at one.
        job, head, member, group_file = self.running_job(checkpoint={"keep": "1000"})
        self.wait_for_member_checkpoint(job, member)
        marker = self.tmp / "the-library-ran"
        library = self.build_library(marker)
        head_storage = self.pool.cluster.laptop(head).storage
        member_storage = self.pool.cluster.laptop(member).storage
        peer_key = self.on_agent_mounts(
            head, ["cat", f"{head_storage}/jobs/{job}/peer.key"]).stdout.strip()
        self.assertTrue(peer_key)
        agents = json.loads(self.on_agent_mounts(head, ["cat", group_file]).stdout)["agents"]
        address = self.pool.cluster.laptop(member).address
        member_url = f"https://{address}:{agents[address]['port']}"
        step = self.member_steps(job, member)[-1]

        # The probe's upload: the library as a partner copy, with the job's peer key.
        code, body = https_request(member_url, "PUT", f"/api/v1/copies/{job}/{step}/shard-00000.h5",
                                   peer_key, data=library.read_bytes())
        self.assertIn(code, (413, 422), body)  # not a shard of that checkpoint
        code, body = https_request(member_url, "PUT", f"/api/v1/copies/{job}/{step}/MANIFEST.json",
                                   peer_key, data=library.read_bytes())
        self.assertIn(code, (413, 422), body)
        code, body = https_request(member_url, "PUT",
                                   f"/api/v1/copies/{job}/step-999999999999/shard-00000.h5", peer_key,
                                   data=library.read_bytes())
        self.assertEqual(code, 409, body)  # a step this member has not reached
        self.assertIn("is not a checkpoint this volunteer has written", body["error"])
        code, body = https_request(member_url, "PUT", f"/api/v1/copies/{job}/{step}/libevil.so",
                                   peer_key, data=library.read_bytes())
        self.assertEqual(code, 400, body)
        library_digest = hashlib.sha256(library.read_bytes()).hexdigest()
        copies = self.on_agent_mounts(member, [
            "sh", "-c", f"find {member_storage}/jobs/{job}/copies -type f -exec sha256sum {{}} +"
            " 2>/dev/null; true"]).stdout
        self.assertNotIn(library_digest, copies)

        # Even with the library on the member (put there some other way), the
        # head's `mpirun -x LD_PRELOAD` runs nothing there: the guard is static
        # and refuses a rank whose environment steers the loader.
        planted = f"{member_storage}/jobs/{job}/planted.so"
        self.on_agent_mounts(member, ["cp", str(library), planted])
        subnet = self.pool.cluster.subnet
        worker = str(Path(SPARE).resolve().parent / "spare-worker")
        attack = self.on_agent_mounts(head, [
            "env", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
            "mpirun", "-n", "1", "--host", f"{address}:1", "--bind-to", "none", "--noprefix",
            "--leave-session-attached", "--mca", "plm_rsh_agent",
            f"{SPARE} launch-client --group {group_file}", "--mca", "plm_rsh_no_tree_spawn", "1",
            "--mca", "btl_tcp_if_include", subnet, "--mca", "oob_tcp_if_include", subnet,
            "-x", f"LD_PRELOAD={planted}", worker, "--job", "job.ini"], timeout=60)
        self.assertNotEqual(attack.returncode, 0, attack.stdout + attack.stderr)
        time.sleep(0.5)
        self.assertFalse(marker.exists(), "the head's library ran on the member")
        refused = self.on_agent_mounts(member, ["cat", f"{member_storage}/jobs/{job}/refused.log"])
        self.assertIn("LD_PRELOAD was forwarded by the head", refused.stdout)
        # An MCA parameter that points a daemon outside /tmp is refused too.
        attempt = self.on_agent_mounts(head, [
            SPARE, "launch-client", "--group", group_file, address, "orted", "-mca",
            "orte_tmpdir_base", "/etc"])
        self.assertNotEqual(attempt.returncode, 0)
        self.assertIn("'orte_tmpdir_base' = '/etc': expected a directory inside /tmp",
                      attempt.stderr)
        # The group's own ranks went through the same guard, and run on.
        self.assertEqual(self.pool.status(job)["state"], "running")
        self.pool.spare("cancel", job)

    def build_library(self, marker):
        source = self.tmp / "evil.c"
        source.write_text(EVIL_LIBRARY % marker)
        library = self.tmp / "libevil.so"
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
        # It works: loaded by a dynamic program, it leaves the mark.
        subprocess.run(["env", f"LD_PRELOAD={library}", "true"], check=True)
        self.assertTrue(marker.exists())
        marker.unlink()
        return library

    def member_steps(self, job, k):
        """The committed checkpoints of `job` in laptop k's own storage."""
        listing = self.on_agent_mounts(k, [
            "sh", "-c", f"cd {self.pool.cluster.laptop(k).storage}/jobs/{job}/checkpoints && "
            "ls -d step-*/MANIFEST.json 2>/dev/null | cut -d/ -f1"])
        return sorted(listing.stdout.split())

    def wait_for_member_checkpoint(self, job, k, timeout=60):
        deadline = time.time() + timeout
        while not self.member_steps(job, k):
            self.assertLess(time.time(), deadline, "the member wrote no checkpoint")
            time.sleep(0.2)


class HostileVolunteer(PoolTestCase):
    """Findings 2, 8 and 11: a registered volunteer lies, or takes a name."""
    laptops = 2

    def register_stranger(self, **fields):
        """A volunteer of this test's own, registered from the root namespace."""
        body = {"name": "stranger", "address": self.pool.cluster.coordinator_address,
                "agent_port": 1, "fingerprint": "sha256:" + "0" * 64, "cpus": 1,
                "memory": 1 << 30, "kernels": self.pool.pool_status()["kernels"], **fields}
        return self.call("POST", "/api/v1/volunteers", self.pool.volunteer_token, body=body)

    def test_a_volunteer_cannot_end_groups_it_is_not_in(self):
        job = self.running_job()[0]
        code, stranger = self.register_stranger()
        self.assertEqual(code, 200, stranger)
        # The probe's heartbeat: every group id there could be, "dropped".
        code, body = self.call(
            "POST", f"/api/v1/volunteers/{stranger['volunteer']}/heartbeat",
            self.pool.volunteer_token,
            headers={"X-Spare-Volunteer": f"{stranger['volunteer']}:{stranger['key']}"},
            body={"dropped": list(range(1, 500))})
        self.assertEqual(code, 200, body)
        time.sleep(1.0)  # five supervisor passes
        status = self.pool.status(job)
        self.assertEqual(status["state"], "running")
        self.assertEqual(status["restarts"], 0)
        log = (self.pool.logs / "pool.log").read_text()
        self.assertIn("refused: volunteer stranger reported group 1 dropped, but is not a member",
                      log)
        self.pool.spare("cancel", job)

    def test_a_name_is_bound_to_its_key_for_good(self):
        volunteers = self.pool.pool_status()["volunteers"]
        name = next(v["name"] for v in volunteers if v["id"] == volunteers[0]["id"])
        k = self.laptop_named(name)
        self.pool.kill_laptop(k)
        deadline = time.time() + 30
        while next(v["state"] for v in self.pool.pool_status()["volunteers"]
                   if v["name"] == name) != "lost":
            self.assertLess(time.time(), deadline)
            time.sleep(0.2)
        # Lost for good, and still its name is not anyone's to take.
        code, body = self.register_stranger(name=name)
        self.assertEqual(code, 409, body)
        self.assertIn(f"volunteer {name} is registered with another key", body["error"])
        # Names and addresses are shown to operators only.
        for token in (self.pool.token, self.pool.volunteer_token):
            code, overview = self.call("GET", "/api/v1/pool", token)
            self.assertEqual(code, 200)
            for v in overview["volunteers"]:
                self.assertNotIn("name", v)
                self.assertNotIn("address", v)
        self.assertTrue(all("name" in v for v in self.pool.pool_status()["volunteers"]))

    def test_registrations_are_checked_and_names_cannot_forge_log_lines(self):
        for fields, expected in [
                ({"cpus": 2147483647}, '"cpus" must be an integer from 1 to 4096'),
                ({"memory": -5}, '"memory" must be an integer from 1048576'),
                ({"agent_port": 99999999}, '"agent_port" must be an integer from 1 to 65535'),
                ({"address": "192.0.2.7"}, "is not the address it connects from"),
                ({"address": "not an address"}, '"address" must be an IPv4 or IPv6 address'),
                ({"name": "evil\x1b[2J\nvolunteer lap1 left"},
                 '"name" must be printable text without control characters'),
                ({"fingerprint": "sha256:xyz"}, '"fingerprint" must be sha256: and 64 hex')]:
            code, body = self.register_stranger(**{"name": f"stranger-{len(expected)}", **fields})
            self.assertEqual(code, 400, (fields, body))
            self.assertIn(expected, body["error"])
        log = (self.pool.logs / "pool.log").read_text()
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\nvolunteer lap1 left", log)

    def test_the_pools_secrets_are_private_and_stored_only_as_hashes(self):
        job = self.running_job()[0]
        for name in ("pool.db", "pool.db-wal", "pool.db-shm", "pool.secret", "tls/key.pem"):
            path = self.pool.state / name
            if name == "tls/key.pem" and not path.exists():
                continue
            self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600, name)
        db = sqlite3.connect(f"file:{self.pool.state / 'pool.db'}?mode=ro", uri=True)
        try:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM groups WHERE credential != ''")
                             .fetchone()[0], 0)
            self.assertEqual(db.execute("SELECT COUNT(*) FROM jobs WHERE peer_key != ''")
                             .fetchone()[0], 0)
            hashes = [row[0] for row in db.execute("SELECT hash FROM tokens")]
            self.assertNotIn(self.pool.token, hashes)
        finally:
            db.close()
        self.pool.spare("cancel", job)


class ForgedCheckpoints(PoolTestCase):
    """Findings 5, 6 and 7: a volunteer of the job uploads checkpoints that lie."""
    laptops = 2
    # The pool's group writes no checkpoint of its own while the test forges them.
    QUIET = {"checkpoint": {"interval_steps": "100000000", "interval_seconds": "0"}}

    def setUp(self):
        super().setUp()
        self.job, head = self.running_job(**self.QUIET)[:2]
        self.head = head
        storage = self.pool.cluster.laptop(head).storage
        key = self.on_agent_mounts(head, ["cat", f"{storage}/volunteer.key"]).stdout.strip()
        volunteer = next(v["id"] for v in self.pool.pool_status()["volunteers"]
                         if self.laptop_named(v["name"]) == head)
        self.as_member = {"X-Spare-Volunteer": f"{volunteer}:{key}"}
        # A genuine checkpoint of the same job at step 300, written here by spare run.
        local = self.tmp / "local"
        subprocess.run([SPARE, "run", self.job_file(**self.QUIET), "--ranks", "1", "--output",
                        local, "--set", "job.steps=300", "--set", "checkpoint.interval_steps=300"],
                       check=True, capture_output=True, timeout=300)
        self.genuine = local / "checkpoints" / "step-000000000300"
        self.addCleanup(lambda: self.pool.spare("cancel", self.job, expect=None))

    def upload(self, step_dir, name, data):
        return https_request(self.pool.url, "PUT",
                             f"/api/v1/jobs/{self.job}/checkpoints/{step_dir}/{name}",
                             self.pool.volunteer_token, headers=self.as_member, data=data,
                             timeout=120)

    def events(self):
        return "\n".join(text for _, text in self.pool.events(self.job))

    def coordinator_memory(self):
        status = Path(f"/proc/{self.pool.coordinator.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmHWM:"))) * 1024

    def test_a_genuine_manifest_under_another_step_is_refused(self):
        manifest = (self.genuine / "MANIFEST.json").read_bytes()
        shard = (self.genuine / "shard-00000.h5").read_bytes()
        self.assertEqual(self.upload("step-000000000600", "shard-00000.h5", shard)[0], 200)
        self.assertEqual(self.upload("step-000000000600", "MANIFEST.json", manifest)[0], 200)
        self.assertIn("step-000000000600 arrived corrupt and was discarded: its manifest was "
                      "refused", self.events())
        self.assertFalse((self.pool.state / "jobs" / str(self.job) / "checkpoints" /
                          "step-000000000600" / "MANIFEST.json").exists())
        self.assertIsNone(self.pool.status(self.job)["checkpoint"])

    def test_a_shard_declaring_a_huge_block_is_refused_without_allocating_it(self):
        import h5py
        forged = self.tmp / "forged.h5"
        with h5py.File(forged, "w") as f:  # 2 GB declared, never written: a small file
            f.create_dataset("temperature", shape=(1, 250_000_000), dtype="f8")
        self.assertLess(forged.stat().st_size, 16 << 10)
        before = self.coordinator_memory()
        self.assertEqual(self.upload("step-000000000300", "shard-00000.h5",
                                     forged.read_bytes())[0], 200)
        self.assertEqual(self.upload("step-000000000300", "MANIFEST.json",
                                     (self.genuine / "MANIFEST.json").read_bytes())[0], 200)
        self.assertIn("step-000000000300 arrived corrupt and was discarded", self.events())
        self.assertLess(self.coordinator_memory() - before, 256 << 20)
        self.assertIsNone(self.pool.status(self.job)["checkpoint"])
        # The real shard then completes the checkpoint: the pool still takes honest ones.
        self.assertEqual(self.upload("step-000000000300", "shard-00000.h5",
                                     (self.genuine / "shard-00000.h5").read_bytes())[0], 200)
        self.assertEqual(self.pool.status(self.job)["checkpoint"], 300)

    def test_a_manifest_of_fifty_thousand_blocks_freezes_nothing(self):
        import threading
        import xxhash
        manifest = json.loads((self.genuine / "MANIFEST.json").read_text())
        manifest.pop("manifest_xxh3_128")
        dataset = manifest["datasets"][0]["name"]
        manifest["nranks"] = 50_000
        manifest["shards"] = [
            {"file": f"shard-{r:05d}.h5", "rank": r, "bytes": 4096,
             "blocks": [{"dataset": dataset, "offset": [0, 0], "count": [1, 1],
                         "xxh3_128": "0" * 32}]} for r in range(50_000)]
        canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        manifest["manifest_xxh3_128"] = xxhash.xxh3_128_hexdigest(canonical.encode())
        data = json.dumps(manifest).encode()
        upload = threading.Thread(
            target=lambda: self.upload("step-000000000300", "MANIFEST.json", data))
        upload.start()
        slowest = self.slowest_status(lambda: upload.is_alive())
        upload.join()
        self.assertIn("its manifest was refused", self.events())
        # A laptop drops off: re-forming the group looks for the newest checkpoint
        # it can gather, which once read every manifest held, under the pool's lock.
        member = next(k for k in self.pool.cluster.laptops if k != self.head)
        self.pool.kill_laptop(member)
        deadline = time.monotonic() + 8
        slowest = max(slowest, self.slowest_status(lambda: time.monotonic() < deadline))
        # The probe saw the whole API frozen for 5 s; a heartbeat timeout is 2.
        self.assertLess(slowest, 1.5)
        # mpirun's exit may be reported before the laptop is declared lost: one
        # restart or two, then the group on the head alone.
        status = self.pool.wait_until(
            self.job, lambda s: s["state"] == "running" and s["ranks"] == 1 and
            s["restarts"] >= 1, what="re-formed on one laptop")
        self.assertEqual([self.laptop_named(v) for v in status["volunteers"]], [self.head])

    def slowest_status(self, go_on):
        """The longest a `spare status` took while go_on() held (once at least)."""
        slowest = 0.0
        while go_on() or slowest == 0.0:
            started = time.monotonic()
            self.pool.status(self.job)
            slowest = max(slowest, time.monotonic() - started)
        return slowest


class AnyoneAtThePort(PoolTestCase):
    """Finding 3: slow connections without a token held every server thread."""
    laptops = 2

    def test_slow_connections_without_a_token_starve_nobody(self):
        job = self.running_job()[0]
        # From a laptop of its own, as a stranger on the network would.
        k = self.pool.cluster.add_laptop()
        attacker = self.pool.cluster.start(
            k, [sys.executable, HERE / "slow_client.py", self.pool.cluster.coordinator_address,
                str(self.pool.port), "100", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(3.0)  # the connections are open and trickling
        started = time.monotonic()
        status = self.pool.status(job)
        answered_in = time.monotonic() - started
        # Answered while the slow ones still hold their sockets: they hold no
        # thread, so nobody waits for their handshake deadline (10 s).
        self.assertLess(answered_in, 5.0)
        self.assertEqual(status["state"], "running")
        report = json.loads(attacker.communicate(timeout=60)[0].decode().splitlines()[-1])
        # The server closed every one: beyond its per-address cap at once, the
        # others at the handshake deadline.
        self.assertEqual(report["closed"] + report["refused"], 100, report)
        self.assertTrue(all(after < 15 for after in report["closed_after"]), report)
        # No volunteer was declared lost meanwhile, and the job never restarted.
        self.assertTrue(all(v["state"] == "live" for v in self.pool.pool_status()["volunteers"]))
        self.assertEqual(self.pool.status(job)["restarts"], 0)
        log = (self.pool.logs / "pool.log").read_text()
        self.assertIn("handshake", log)
        self.pool.spare("cancel", job)


class Limits(PoolTestCase):
    """Finding 9: no quotas or limits; bodies held in memory whatever their size."""
    laptops = 2
    coordinator_args = ("--input-quota", "1M")

    def coordinator_memory(self):
        """The coordinator's resident set's high-water mark, in bytes."""
        status = Path(f"/proc/{self.pool.coordinator.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmHWM:"))) * 1024

    def announce_body(self, path, token, size, method="POST"):
        """POST headers announcing a body of `size` bytes, and the answer read
        before any of it is sent: what the server decides from the headers alone."""
        host, port = self.pool.url[len("https://"):].rsplit(":", 1)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection((host, int(port)), timeout=30) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall((f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
                             f"Authorization: Bearer {token}\r\n"
                             f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n")
                            .encode())
                reply = http.client.HTTPResponse(tls)
                reply.begin()
                return reply.status, json.loads(reply.read() or b"{}")

    def test_bodies_quotas_and_checkpoint_uploads_have_limits(self):
        before = self.coordinator_memory()
        # A 50 MB JSON body and a 100 MB job file are refused before they are read.
        for path, token, size in (("/api/v1/jobs", self.pool.token, 100 << 20),
                                  ("/api/v1/volunteers", self.pool.volunteer_token, 50 << 20)):
            code, body = self.announce_body(path, token, size)
            self.assertEqual(code, 413, (path, body))
            self.assertIn("over this request's limit", body["error"])
        self.assertLess(self.coordinator_memory() - before, 32 << 20)
        # Inputs: 1M per token here; the second 600K input is over it.
        first = os.urandom(600 << 10)
        code, body = https_request(self.pool.url, "PUT",
                                   f"/api/v1/inputs/{hashlib.sha256(first).hexdigest()}",
                                   self.pool.token, data=first, timeout=60)
        self.assertEqual(code, 200, body)
        code, body = self.announce_body(f"/api/v1/inputs/{'1' * 64}", self.pool.token, 600 << 10,
                                        method="PUT")
        self.assertEqual(code, 413, body)
        self.assertIn("token scientists keeps 600.00 KiB of inputs in the pool and its quota is "
                      "1.00 MiB", body["error"])
        self.assertEqual(len(list((self.pool.state / "inputs").glob("*"))), 1)
        self.assertEqual(list((self.pool.state / "spool").glob("*")), [])  # nothing half-kept
        # Checkpoints: only for steps the job can reach, only while it is active.
        job, head = self.running_job()[:2]
        storage = self.pool.cluster.laptop(head).storage
        key = self.on_agent_mounts(head, ["cat", f"{storage}/volunteer.key"]).stdout.strip()
        volunteer = next(v["id"] for v in self.pool.pool_status()["volunteers"]
                         if self.laptop_named(v["name"]) == head)
        as_head = {"X-Spare-Volunteer": f"{volunteer}:{key}"}
        code, body = self.call("PUT", f"/api/v1/jobs/{job}/checkpoints/step-999999999999999999/"
                               "MANIFEST.json", self.pool.volunteer_token, headers=as_head,
                               body={})
        self.assertEqual(code, 403, body)
        self.assertIn("cannot have a checkpoint at step 999999999999999999", body["error"])
        self.pool.spare("cancel", job)
        code, body = self.call("PUT", f"/api/v1/jobs/{job}/checkpoints/step-000000000600/"
                               "shard-00000.h5",
                               self.pool.volunteer_token, headers=as_head, body={})
        self.assertEqual(code, 409, body)
        self.assertIn("it takes no more checkpoints", body["error"])

    def test_uploads_that_never_complete_do_not_pile_up(self):
        job, head = self.running_job(
            checkpoint={"interval_steps": "100000000", "interval_seconds": "0"})[:2]
        storage = self.pool.cluster.laptop(head).storage
        key = self.on_agent_mounts(head, ["cat", f"{storage}/volunteer.key"]).stdout.strip()
        volunteer = next(v["id"] for v in self.pool.pool_status()["volunteers"]
                         if self.laptop_named(v["name"]) == head)
        as_head = {"X-Spare-Volunteer": f"{volunteer}:{key}"}
        # Shards of eight steps whose manifests never come.
        for step in range(100, 900, 100):
            code, body = https_request(
                self.pool.url, "PUT", f"/api/v1/jobs/{job}/checkpoints/step-{step:012d}/shard-00000.h5",
                self.pool.volunteer_token, headers=as_head, data=os.urandom(64 << 10))
            self.assertEqual(code, 200, body)
        arriving = sorted(p.name for p in
                          (self.pool.state / "jobs" / str(job) / "checkpoints").iterdir())
        self.assertEqual(arriving, [f"step-{s:012d}" for s in (600, 700, 800)])
        # Nor under another name for one step: a step has one directory.
        code, body = https_request(
            self.pool.url, "PUT", f"/api/v1/jobs/{job}/checkpoints/step-800/shard-00000.h5",
            self.pool.volunteer_token, headers=as_head, data=b"x")
        self.assertEqual(code, 400, body)
        self.pool.spare("cancel", job)


class UnusedInputs(PoolTestCase):
    """Finding 9: inputs no job names were kept for ever."""
    laptops = 1
    coordinator_args = ("--unused-input-time", "1")

    def test_an_input_no_job_names_is_removed(self):
        sha = self.upload_unused_input(self.pool.url, lambda sha: [self.pool.state / "inputs" / sha],
                                       copies=1, timeout=10)
        self.assertEqual(self.call("GET", f"/api/v1/inputs/{sha}", self.pool.token)[0], 404)
        log = (self.pool.logs / "pool.log").read_text()
        self.assertIn(f"input {sha} of scientists removed: no active job names it", log)


class HostileScientist(PoolTestCase):
    """Findings 10 and 11: a scientist with a token reads or stops another's job."""
    laptops = 2

    def add_token(self, name, *options):
        return self.pool.spare("pool", "token", "add", name, "--state", self.pool.state,
                               *options, env_pool=False).stdout.strip()

    def test_a_job_is_its_submitters_and_its_teams_only(self):
        eve = self.add_token("eve", "--role", "scientist")
        carol = self.add_token("carol", "--role", "scientist", "--team", "lab")
        dave = self.add_token("dave", "--role", "scientist", "--team", "lab")
        short = self.job_file(job={"steps": "100000"})
        alices = self.pool.submit(short)
        carols = int(self.pool.spare("submit", short, "--token", carol).stdout)
        for job in (alices, carols):
            for method, path in (("GET", f"/api/v1/jobs/{job}"), ("GET", f"/api/v1/jobs/{job}/log"),
                                 ("POST", f"/api/v1/jobs/{job}/cancel"),
                                 ("GET", f"/api/v1/jobs/{job}/result/result.h5")):
                code, body = self.call(method, path, eve, body={} if method == "POST" else None)
                self.assertEqual(code, 404, (path, body))
                self.assertEqual(body["error"], f"no job {job} in this pool")
        self.assertEqual(self.call("GET", "/api/v1/jobs", eve)[1]["jobs"], [])
        self.assertEqual(self.pool.pool_status(eve)["jobs"], [])
        # The team shares its jobs; the operator sees everyone's.
        self.assertEqual([j["job"] for j in self.call("GET", "/api/v1/jobs", dave)[1]["jobs"]],
                         [carols])
        self.assertEqual(
            sorted(j["job"] for j in self.call("GET", "/api/v1/jobs", self.pool.operator_token)[1]
                   ["jobs"]), [alices, carols])
        code, body = self.call("POST", f"/api/v1/jobs/{carols}/cancel", dave, body={})
        self.assertEqual((code, body["state"]), (200, "cancelled"))
        self.assertEqual(self.pool.status(alices)["state"] in ("queued", "starting", "running"),
                         True)
        self.assertIn("submitted by scientists", self.pool.spare("logs", alices).stdout)
        self.pool.spare("cancel", alices)

    def test_sizes_that_overflow_are_refused_with_their_figures(self):
        # What the probe submitted straight to the pool: its own check skipped.
        for sizes, expected in (({"nx": "3", "ny": "3689348814741910322"},
                                 "2^63 points or more"),
                                ({"nx": "1000000000", "ny": "1000000000"},
                                 "need 2^63 bytes (8 EiB) of state or more")):
            ini = self.job_file(heat2d=sizes).read_text()
            code, body = self.call("POST", "/api/v1/jobs", self.pool.token, body={"ini": ini})
            self.assertEqual(code, 422, body)
            self.assertIn(expected, body["error"])
        self.assertEqual(self.call("GET", "/api/v1/jobs", self.pool.token)[1]["jobs"], [])

    def test_malformed_queries_are_400_and_messages_hide_the_pools_paths(self):
        import h5py
        import numpy as np
        job = self.pool.submit(self.job_file(job={"steps": "100000"}))
        code, body = self.call("GET", f"/api/v1/jobs/{job}/log?after=abc", self.pool.token)
        self.assertEqual(code, 400, body)
        self.assertIn("?after=abc is not a number", body["error"])
        self.pool.spare("cancel", job)
        # An input of the wrong shape is refused with its key, not the pool's path to it.
        with h5py.File(self.tmp / "u0.h5", "w") as f:
            f["temperature"] = np.zeros((3, 5))
        data = (self.tmp / "u0.h5").read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        code, body = https_request(self.pool.url, "PUT", f"/api/v1/inputs/{sha}", self.pool.token,
                                   data=data)
        self.assertEqual(code, 200, body)
        ini = self.job_file(heat2d={"init": "file", "initial_file": "/elsewhere/u0.h5"}).read_text()
        code, body = self.call("POST", "/api/v1/jobs", self.pool.token,
                               body={"ini": ini, "inputs": {"heat2d.initial_file": sha}})
        self.assertEqual(code, 422, body)
        self.assertIn("initial_file", body["error"])
        self.assertNotIn(str(self.pool.state), body["error"])
        self.assertIn("<pool>", body["error"])

if __name__ == "__main__":
    unittest.main()
