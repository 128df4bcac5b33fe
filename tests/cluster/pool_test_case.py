"""The base of the pool's cluster tests: a PoolCluster per test on the laptop
cluster, the job every chaos test runs, and what tests ask of the pool and of
a laptop's private storage. Needs root; setUpModule exits 77 (skipped) otherwise."""

import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import laptop_cluster  # noqa: E402
from pool_cluster import SPARE, PoolCluster  # noqa: E402
from spare_testing import result_digest, write_job  # noqa: E402

# Long enough to kill a laptop mid-run on 2 shared cores, short for CI.
INTERVAL = 300
# Long enough (50 checkpoints, about 15 s on the laptop cluster) that a failure
# applied after the first checkpoint lands mid-run.
CHAOS_STEPS = 15000
CHAOS_JOB = {
    # Progress every 0.1 s: the step reported just before a kill is close to
    # the step the kill interrupted, so lost work is measured tightly.
    "job": {"name": "chaos", "kernel": "heat2d", "steps": str(CHAOS_STEPS), "ranks": "auto",
            "progress_interval": "0.1"},
    "checkpoint": {"interval_steps": str(INTERVAL), "interval_seconds": "0", "keep": "2"},
    "heat2d": {"nx": "192", "ny": "160", "init": "sine", "amplitude": "1.0"},
}


def setUpModule():
    laptop_cluster.exit_unless_available()


class PoolTestCase(unittest.TestCase):
    cluster_class = PoolCluster  # or ReplicatedPoolCluster: three replicas on etcd
    laptops = 4
    agent_args = ()  # options every volunteer's agent is started with
    coordinator_args = ()  # options the coordinator is started with

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="spare-pool-test-"))
        self.pool = self.cluster_class(self.laptops, logs=self.tmp / "logs",
                                       agent_args=self.agent_args,
                                       coordinator_args=self.coordinator_args)
        self.addCleanup(self.pool.close)
        self.pool.wait_for_volunteers(self.laptops)

    def tearDown(self):
        # SPARE_KEEP_LOGS=1 keeps the coordinator's and agents' logs for a look.
        if os.environ.get("SPARE_KEEP_LOGS"):
            print(f"logs kept in {self.tmp / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def job_file(self, name="job.ini", **sections):
        merged = {key: dict(value) for key, value in CHAOS_JOB.items()}
        for key, value in sections.items():
            merged.setdefault(key, {}).update(value)
        return write_job(self.tmp / name, **merged)

    def upload_unused_input(self, url, kept_at, copies, timeout=30):
        """PUTs 100 KiB no job names to the pool at url; checks they are kept
        at `copies` of the paths kept_at(sha256) gives, waits until they are
        gone from all of them, and returns the hash."""
        data = os.urandom(100 << 10)
        sha = hashlib.sha256(data).hexdigest()
        code, body = https_request(url, "PUT", f"/api/v1/inputs/{sha}", self.pool.token, data=data)
        self.assertEqual(code, 200, body)
        kept = [path for path in kept_at(sha) if path.exists()]
        self.assertEqual(len(kept), copies, f"the input's copies: {kept}")
        deadline = time.time() + timeout
        while any(path.exists() for path in kept):
            self.assertLess(time.time(), deadline, f"an unused input was kept: {kept}")
            time.sleep(0.2)
        return sha

    def long_job_file(self, steps, name="job.ini", **sections):
        """A job that steps for seconds however fast the machine is (a 640 x
        512 grid: a few thousand steps a second on two cores), checkpointing
        every second, as a real job's checkpoints are minutes apart; `sections`
        override its own, as in job_file()."""
        own = {"job": {"steps": str(steps)},
               "checkpoint": {"interval_steps": "0", "interval_seconds": "1"},
               "heat2d": {"nx": "640", "ny": "512"}}
        for key, value in sections.items():
            own.setdefault(key, {}).update(value)
        return self.job_file(name, **own)

    def write_input(self, seed):
        """The job_from_a_file's input, random from `seed`: its SHA-256."""
        import hashlib

        import h5py
        import numpy as np
        path = self.tmp / "case" / "inputs" / "u0.h5"
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            f["temperature"] = np.random.default_rng(seed).uniform(-1.0, 2.0, (160, 192))
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def job_from_a_file(self, steps, seed, ranks="auto"):
        """A heat2d job that starts from an HDF5 file beside it (write_input):
        the job's file and the input's SHA-256."""
        sha256 = self.write_input(seed)
        job_file = write_job(self.tmp / "case" / "job.ini", **{
            **CHAOS_JOB, "job": {**CHAOS_JOB["job"], "steps": str(steps), "ranks": str(ranks)},
            "heat2d": {"nx": "192", "ny": "160", "init": "file",
                       "initial_file": "inputs/u0.h5"}})
        return job_file, sha256

    def reference_digest(self, job_file):
        """The same job run locally on one rank, with no failure."""
        out = self.tmp / "reference"
        done = subprocess.run([SPARE, "run", job_file, "--ranks", "1", "--output", out, "--fresh"],
                              capture_output=True, text=True, timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        return result_digest(out)

    def fetched_digest(self, job):
        return result_digest(self.pool.fetch(job, self.tmp / f"result-{job}"))

    def started_steps(self, job):
        """Steps each group started from, in order, from the event log."""
        return [int(re.search(r"started at step (\d+)", text).group(1))
                for kind, text in self.pool.events(job) if kind == "start"]

    def on_agent_mounts(self, k, argv, timeout=30):
        """Runs argv on laptop k seeing its agent's private storage."""
        pid = self.pool.agents[k].pid
        return self.pool.cluster.exec(k, ["nsenter", f"--mount=/proc/{pid}/ns/mnt", *argv],
                                      timeout=timeout)

    def own_checkpoints(self, k, job):
        """The steps of the complete checkpoints laptop k's agent keeps of job."""
        storage = self.pool.cluster.laptop(k).storage
        listing = self.on_agent_mounts(
            k, ["sh", "-c", f"ls -d {storage}/jobs/{job}/checkpoints/step-*/MANIFEST.json"])
        return sorted(int(m.group(1)) for m in re.finditer(r"step-(\d+)/", listing.stdout))

    def written_checkpoints(self, job):
        return [int(re.search(r"step (\d+)", text).group(1))
                for kind, text in self.pool.events(job) if kind == "checkpoint"]

    def running_job(self, **sections):
        """A long job, once running: (job, head laptop, member laptop, the head's
        group file). `sections` override the job file's, as in job_file()."""
        sections.setdefault("job", {})
        sections["job"] = {"steps": "1000000", **sections["job"]}
        job = self.pool.submit(self.job_file(**sections))
        status = self.pool.wait_until(job, lambda s: s["state"] == "running" and s["step"] > 0,
                                      what="running")
        head = self.laptop_named(status["volunteers"][0])
        member = self.laptop_named(status["volunteers"][1])
        return job, head, member, self.group_file(head)

    def laptop_named(self, name):
        return next(k for k in self.pool.cluster.laptops
                    if name.startswith(self.pool.cluster.laptop(k).netns + "@"))

    def group_file(self, k):
        listing = self.on_agent_mounts(
            k, ["sh", "-c", f"ls {self.pool.cluster.laptop(k).storage}/jobs/*/group-*.json"])
        self.assertEqual(listing.returncode, 0, listing.stderr)
        return listing.stdout.split()[0]

    def call(self, method, path, token, headers=None, body=None):
        """One request to the coordinator; returns (status, JSON body)."""
        return https_request(self.pool.url, method, path, token, headers, body)


def https_request(url, method, path, token, headers=None, body=None, data=None, timeout=10):
    """One HTTPS request to `url` (the coordinator or an agent; their
    certificates are self-signed, so not checked here): `body` is sent as
    JSON, `data` as raw bytes. Returns (status, the reply as JSON, or {})."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, method=method, data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 **(headers or {})})
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as reply:
            return reply.status, _json_or_empty(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, _json_or_empty(refused.read())


def _json_or_empty(raw):
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}
