"""A real etcd cluster for the tests: `members` etcd processes (Debian's
etcd-server) on loopback, each with its own ports and data directory under
`directory`, started together and removed by close(). Members can be killed
(SIGKILL) and started again from their data, as on a real machine."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def free_ports(host, count):
    """`count` distinct ports free on `host` now (each socket held until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def available():
    return os.access(ETCD, os.X_OK)


class EtcdCluster:
    def __init__(self, directory, members=3, host="127.0.0.1"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.names = [f"etcd{k}" for k in range(members)]
        self.processes = {}
        # A port free a moment ago may be taken by another process before a
        # member binds it: then the cluster is formed again on other ports.
        for attempt in range(3):
            ports = free_ports(host, 2 * members)
            self.client_ports, self.peer_ports = ports[:members], ports[members:]
            self.token = f"spare-test-{os.getpid()}-{time.monotonic_ns()}"
            try:
                for k in range(members):
                    self.start(k, new=True)
                self.wait_healthy()
                return
            except BaseException:
                self.close()
                if attempt == 2 or not self.lost_a_port():
                    raise

    def lost_a_port(self):
        return any(b"address already in use" in (self.directory / f"{name}.log").read_bytes()
                   for name in self.names if (self.directory / f"{name}.log").exists())

    def client_url(self, k):
        return f"http://{self.host}:{self.client_ports[k]}"

    def endpoints(self):
        """Every member's client URL, joined by commas: `spare pool --etcd`."""
        return ",".join(self.client_url(k) for k in range(len(self.names)))

    def start(self, k, new=False):
        initial = ",".join(f"{name}=http://{self.host}:{port}"
                           for name, port in zip(self.names, self.peer_ports))
        log = open(self.directory / f"{self.names[k]}.log", "ab")
        self.processes[k] = subprocess.Popen(
            [ETCD, "--name", self.names[k], "--data-dir", str(self.directory / self.names[k]),
             "--listen-client-urls", self.client_url(k),
             "--advertise-client-urls", self.client_url(k),
             "--listen-peer-urls", f"http://{self.host}:{self.peer_ports[k]}",
             "--initial-advertise-peer-urls", f"http://{self.host}:{self.peer_ports[k]}",
             "--initial-cluster", initial, "--initial-cluster-token", self.token,
             "--initial-cluster-state", "new" if new else "existing"],
            stdout=log, stderr=log, start_new_session=True)
        log.close()

    def kill(self, k):
        """kill -9 of member k."""
        process = self.processes.pop(k)
        process.kill()
        process.wait(timeout=10)

    def status(self, k):
        """Member k's maintenance status (its id and the leader's), or None."""
        request = urllib.request.Request(f"{self.client_url(k)}/v3/maintenance/status",
                                         data=b"{}", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=1) as reply:
                return json.loads(reply.read())
        except OSError:
            return None

    def leader(self):
        """The index of the member that leads etcd's raft, or None."""
        for k in self.processes:
            status = self.status(k)
            if status and status.get("leader"):
                for j in self.processes:
                    other = self.status(j)
                    if other and other["header"]["member_id"] == status["leader"]:
                        return j
        return None

    def wait_healthy(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            exited = [self.names[k] for k, p in self.processes.items() if p.poll() is not None]
            if exited:
                raise RuntimeError(f"etcd member {', '.join(exited)} exited; logs in "
                                   f"{self.directory}")
            statuses = [self.status(k) for k in self.processes]
            if all(s and s.get("leader") for s in statuses):
                return
            time.sleep(0.1)
        raise RuntimeError(f"etcd members not healthy after {timeout} s; logs in {self.directory}")

    def close(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        for name in self.names:
            shutil.rmtree(self.directory / name, ignore_errors=True)
