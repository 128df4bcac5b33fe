"""A volunteer pool on the laptop cluster: the coordinator (`spare pool`) in
the root namespace on the bridge's address, one agent (`spare volunteer`)
per laptop with the laptop's private storage, and the scientist's commands
(`spare submit|status|logs|fetch`) run from the root namespace. Used by the
chaos tests and by the README's walkthrough."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from laptop_cluster import LaptopCluster

SPARE = os.environ.get("SPARE_BIN", "spare")
FINAL_STATES = ("done", "failed", "cancelled")


class PoolCluster:
    """`laptops` laptops, each lending `cpus` CPUs, and a coordinator whose
    heartbeat timeout is `heartbeat_timeout` seconds (default: 2, or
    $SPARE_TEST_HEARTBEAT_TIMEOUT, which .ci/run raises for its sanitizer
    build, several times slower on the same two cores). Logs go to `logs`."""

    def __init__(self, laptops=4, cpus=1, heartbeat_timeout=None, logs=None, agent_args=(),
                 coordinator_args=()):
        if heartbeat_timeout is None:
            heartbeat_timeout = float(os.environ.get("SPARE_TEST_HEARTBEAT_TIMEOUT", "2.0"))
        self.logs = Path(logs or tempfile.mkdtemp(prefix="spare-pool-"))
        self.logs.mkdir(parents=True, exist_ok=True)
        self.state = self.logs / "pool-state"
        self.cpus = cpus
        self.agent_args = tuple(agent_args)  # every agent's extra options
        self.coordinator_args = tuple(coordinator_args)  # the coordinator's extra options
        self.heartbeat_timeout = heartbeat_timeout
        self.cluster = LaptopCluster(laptops)
        self.agents = {}
        self.coordinator = None
        try:
            # Separate roles, as an operator would hand them out.
            self.token = self.spare("pool", "token", "add", "scientists", "--role", "scientist",
                                    *self.store_args(), env_pool=False).stdout.strip()
            self.volunteer_token = self.spare(
                "pool", "token", "add", "volunteers", "--role", "volunteer",
                *self.store_args(), env_pool=False).stdout.strip()
            # The operator's: every job, and the volunteers' names and addresses.
            self.operator_token = self.spare(
                "pool", "token", "add", "operators", "--role", "operator",
                *self.store_args(), env_pool=False).stdout.strip()
            self.start_coordinator(port=0)
            for k in self.volunteer_laptops():
                self.start_agent(k)
        except BaseException:
            self.close()
            raise

    # The coordinator.

    def volunteer_laptops(self):
        """The laptops that lend (all of them here)."""
        return list(self.cluster.laptops)

    def store_args(self):
        """Where `spare pool token` finds the pool's records."""
        return ["--state", self.state]

    def start_coordinator(self, port=None, environment=None):
        """Starts `spare pool`; port None reuses the previous port (a restart).
        `environment`: variables added to its own (the test hooks')."""
        if port is None:
            port = self.port
        log = open(self.logs / "pool.log", "ab")
        self.coordinator = subprocess.Popen(
            [SPARE, "pool", "--state", str(self.state), "--listen",
             f"{self.cluster.coordinator_address}:{port}",
             "--heartbeat-timeout", str(self.heartbeat_timeout), *self.coordinator_args],
            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
            env=dict(os.environ, **(environment or {})))
        log.close()
        url_line = self.coordinator.stdout.readline()
        fingerprint_line = self.coordinator.stdout.readline()
        if not url_line.startswith("spare pool") or not fingerprint_line.startswith("fingerprint"):
            raise RuntimeError(f"spare pool did not start: {url_line!r} {fingerprint_line!r}; "
                               f"see {self.logs / 'pool.log'}")
        self.url = url_line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.fingerprint = fingerprint_line.split()[-1]

    def vaults(self, job):
        """Where the pool keeps its copies of job's checkpoints."""
        return [self.state / "jobs" / str(job) / "checkpoints"]

    def kill_coordinator(self):
        """kill -9 of the coordinator: its state must carry everything."""
        self.coordinator.kill()
        self.reap_coordinator()

    def reap_coordinator(self, timeout=30):
        """Waits until the coordinator's process is gone; returns its exit
        status (negative: the signal that ended it)."""
        status = self.coordinator.wait(timeout=timeout)
        self.coordinator.stdout.close()
        return status

    # Volunteers.

    def scientist_environment(self):
        return {"SPARE_POOL": self.url, "SPARE_TOKEN": self.token,
                "SPARE_FINGERPRINT": self.fingerprint}

    def agent_environment(self):
        return dict(self.scientist_environment(), SPARE_TOKEN=self.volunteer_token)

    def start_agent(self, k, *extra, environment=None):
        """`environment`: variables added to the agent's (the test hooks')."""
        self.agents[k] = self.cluster.start(
            k, [SPARE, "volunteer", "--cpus", str(self.cpus), "--storage",
                str(self.cluster.laptop(k).storage), "--network", self.cluster.subnet,
                *self.agent_args, *extra],
            env=dict(self.agent_environment(), **(environment or {})),
            log_path=self.logs / f"agent-lap{k}.log")
        return self.agents[k]

    def add_laptop(self):
        k = self.cluster.add_laptop()
        self.start_agent(k)
        return k

    def kill_laptop(self, k):
        self.cluster.kill_laptop(k)
        self.agents[k].wait(timeout=30)

    def wait_for_volunteers(self, count, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            live = [v for v in self.pool_status()["volunteers"] if v["state"] == "live"]
            if len(live) >= count:
                return live
            time.sleep(0.1)
        raise AssertionError(f"fewer than {count} live volunteers after {timeout} s")

    # The scientist's side.

    def spare(self, *args, expect=0, env_pool=True, timeout=120):
        env = dict(os.environ)
        if env_pool:
            env.update(self.scientist_environment())
        done = subprocess.run([SPARE, *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=timeout)
        if expect is not None and done.returncode != expect:
            raise AssertionError(f"spare {' '.join(map(str, args))} exited {done.returncode}, "
                                 f"expected {expect}\nstdout:\n{done.stdout}\n"
                                 f"stderr:\n{done.stderr}\nlogs: {self.logs}")
        return done

    def submit(self, job_file, *args):
        return int(self.spare("submit", job_file, *args).stdout.strip())

    def status(self, job):
        return json.loads(self.spare("status", job, "--json").stdout)

    def pool_status(self, token=None):
        """The pool as `spare status --json` shows it (to the operator by default)."""
        return json.loads(self.spare("status", "--json", "--token",
                                     token or self.operator_token).stdout)

    def events(self, job):
        """The job's event log as (kind, text) pairs."""
        lines = self.spare("logs", job).stdout.splitlines()
        events = []
        for line in lines:
            parts = line.split(None, 3)
            if len(parts) >= 3:
                events.append((parts[2], parts[3] if len(parts) > 3 else ""))
        return events

    def wait_until(self, job, predicate, timeout=180, what="the condition"):
        deadline = time.time() + timeout
        status = None
        while time.time() < deadline:
            try:
                status = self.status(job)
            except AssertionError:
                status = None  # the coordinator may be restarting
            if status is not None and predicate(status):
                return status
            if status is not None and status["state"] in FINAL_STATES:
                break
            time.sleep(0.1)
        raise AssertionError(f"job {job}: {what} not reached; last status {status}; "
                             f"logs in {self.logs}:\n{self.spare('logs', job, expect=None).stdout}"
                             f"{self.agents_now()}")

    def agents_now(self):
        """Each agent's state for a failure's message: alive or its exit
        status, its last lines, and where gdb is installed its threads' frames."""
        gdb = shutil.which("gdb")
        lines = []
        for k, process in sorted(self.agents.items()):
            code = process.poll()
            log = self.logs / f"agent-lap{k}.log"
            tail = log.read_text(errors="replace").splitlines()[-3:] if log.exists() else []
            lines.append(f"agent {k}: " + ("running" if code is None else f"exited {code}"))
            lines += [f"  {line}" for line in tail]
            if code is None and gdb:
                stacks = subprocess.run([gdb, "-p", str(process.pid), "-batch", "-ex",
                                         "thread apply all bt 8"], capture_output=True,
                                        text=True, timeout=60).stdout
                lines += [f"  {line}" for line in stacks.splitlines()
                          if line.startswith(("#", "Thread"))]
        return "\nagents now:\n" + "\n".join(lines) if lines else ""

    def wait_done(self, job, timeout=300):
        return self.wait_until(job, lambda s: s["state"] == "done", timeout, "done")

    def fetch(self, job, directory):
        self.spare("fetch", job, directory)
        return Path(directory)

    def close(self):
        for process in list(self.agents.values()):
            if process.poll() is None:
                process.kill()
        if self.coordinator is not None and self.coordinator.poll() is None:
            self.kill_coordinator()
        self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
