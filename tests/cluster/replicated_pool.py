"""A highly available pool on the laptop cluster: a real etcd cluster of
three members on the bridge's address in the root namespace (etcd_cluster.py)
and three replicas of `spare pool --etcd`, each on a machine of its own (a
laptop of the cluster that lends nothing, so it can be killed, frozen or cut
off the network); volunteers and scientists name all three. Everything else
is PoolCluster's."""

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from etcd_cluster import EtcdCluster
from pool_cluster import SPARE, PoolCluster


# Seconds of the leader's lease: a replica steps down after two thirds of it
# without a renewal, so on two cores shared with MPI ranks busy-polling and
# three etcd members, 3 s (the default) makes leaders step down under load.
LEASE_TTL = 4


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a replica's 307 is the answer looked at


class ReplicatedPoolCluster(PoolCluster):
    def __init__(self, laptops=2, replicas=3, lease_ttl=LEASE_TTL, logs=None, **options):
        import tempfile
        from pathlib import Path
        logs = Path(logs or tempfile.mkdtemp(prefix="spare-replicas-"))
        logs.mkdir(parents=True, exist_ok=True)
        self.lease_ttl = lease_ttl
        self.replica_count = replicas
        self.replicas = {}  # index → Popen
        self.replica_urls = []
        self.replica_laptops = []  # index → the laptop it runs on
        self.etcd = None
        self.etcd_directory = logs / "etcd"
        super().__init__(laptops, logs=logs, **options)

    def volunteer_laptops(self):
        return [k for k in self.cluster.laptops if k not in self.replica_laptops]

    def store_args(self):
        if self.etcd is None:  # once the bridge is up: reachable from every laptop
            self.etcd = EtcdCluster(self.etcd_directory, host=self.cluster.coordinator_address)
        return ["--etcd", self.etcd.endpoints()]

    def start_coordinator(self, port=None, environment=None):
        if not self.replica_urls:
            self.replica_laptops = [self.cluster.add_laptop() for _ in range(self.replica_count)]
            self.replica_urls = [f"https://{self.cluster.laptop(k).address}:7350"
                                 for k in self.replica_laptops]
        fingerprints = {self.start_replica(k, environment) for k in range(self.replica_count)}
        if len(fingerprints) != 1:
            raise AssertionError(f"the replicas have different identities: {fingerprints}")
        self.fingerprint = fingerprints.pop()
        self.url = ",".join(self.replica_urls)
        self.wait_for_leader()

    def start_replica(self, k, environment=None):
        """Starts replica k; returns the fingerprint it prints."""
        log = open(self.logs / f"replica{k}.log", "ab")
        laptop = self.replica_laptops[k]
        process = self.cluster.start(
            laptop,
            [SPARE, "pool", "--etcd", self.etcd.endpoints(), "--state",
             str(self.logs / f"replica{k}-state"), "--listen",
             f"{self.cluster.laptop(laptop).address}:7350", "--advertise",
             self.replica_urls[k], "--lease-ttl", str(self.lease_ttl), "--heartbeat-timeout",
             str(self.heartbeat_timeout), *self.coordinator_args],
            env=environment or {}, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        url_line = process.stdout.readline()
        fingerprint_line = process.stdout.readline()
        if not url_line.startswith("spare pool") or not fingerprint_line.startswith("fingerprint"):
            raise RuntimeError(f"replica {k} did not start: {url_line!r} {fingerprint_line!r}; "
                               f"see {self.logs / f'replica{k}.log'}")
        self.replicas[k] = process
        return fingerprint_line.split()[-1]

    def answer(self, k, path="/api/v1/pool", timeout=1.0, headers=None):
        """(status, JSON body) of one GET to replica k itself, a redirect not
        followed; (0, {}) if it does not answer within `timeout`."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                             _NoRedirect())
        request = urllib.request.Request(
            self.replica_urls[k] + path,
            headers={"Authorization": f"Bearer {self.operator_token}", **(headers or {})})
        try:
            with opener.open(request, timeout=timeout) as reply:
                return reply.status, json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as refused:
            return refused.code, {}
        except (OSError, ValueError):
            return 0, {}

    def leader(self):
        """(index, epoch) of the replica that answers as the leader, asking each."""
        for k in sorted(self.replicas):
            status, facts = self.answer(k)
            if status == 200:
                return k, facts["leader"]["epoch"]
        raise AssertionError("no replica answers as the leader")

    def wait_for_leader(self, timeout=30, other_than=None):
        """Waits until a replica (not `other_than`) leads; returns (index, epoch, seconds)."""
        started = time.monotonic()
        deadline = started + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                k, epoch = self.leader()
                if k != other_than:
                    return k, epoch, time.monotonic() - started
            except (AssertionError, KeyError, ValueError, json.JSONDecodeError) as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(f"no replica (other than {other_than}) leads after {timeout} s: "
                             f"{last}; logs in {self.logs}")

    def vaults(self, job):
        return [self.logs / f"replica{k}-state" / "jobs" / str(job) / "checkpoints"
                for k in range(self.replica_count)]

    def kill_coordinator(self):
        """The whole pool down: every replica killed (start_coordinator starts them again)."""
        for k in list(self.replicas):
            self.kill_replica(k)

    def kill_replica(self, k):
        process = self.replicas.pop(k)
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()

    def signal_replica(self, k, sig):
        self.replicas[k].send_signal(sig)

    def stop_replica(self, k, timeout=30):
        """SIGTERM: a graceful stop; returns its exit status."""
        process = self.replicas.pop(k)
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=timeout)
        process.stdout.close()
        return status

    def cut_replica(self, k):
        """Replica k's machine off the network: it lives on, unreachable."""
        self.cluster.cut_network(self.replica_laptops[k])

    def restore_replica(self, k):
        self.cluster.restore_network(self.replica_laptops[k])

    def answer_within(self, k, timeout=1.0):
        """The status replica k answers to a request made on its own machine
        (so a replica cut off still answers it), 0 for none."""
        probe = ("import ssl, sys, urllib.request, urllib.error\n"
                 "c = ssl.create_default_context(); c.check_hostname = False\n"
                 "c.verify_mode = ssl.CERT_NONE\n"
                 "class N(urllib.request.HTTPRedirectHandler):\n"
                 "    def redirect_request(self, *a, **k): return None\n"
                 "o = urllib.request.build_opener(urllib.request.HTTPSHandler(context=c), N())\n"
                 "r = urllib.request.Request(sys.argv[1], headers={'Authorization': "
                 "'Bearer ' + sys.argv[2]})\n"
                 "try:\n    print(o.open(r, timeout=float(sys.argv[3])).status)\n"
                 "except urllib.error.HTTPError as e:\n    print(e.code)\n"
                 "except OSError:\n    print(0)\n")
        done = self.cluster.exec(
            self.replica_laptops[k],
            ["/usr/bin/python3", "-c", probe, self.replica_urls[k] + "/api/v1/pool",
             self.operator_token, str(timeout)])
        return int(done.stdout.strip() or 0)

    def replica_log(self, k):
        return (self.logs / f"replica{k}.log").read_text(errors="replace")

    def close(self):
        for process in list(self.agents.values()):
            if process.poll() is None:
                process.kill()
        for process in self.replicas.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait(timeout=30)
            process.stdout.close()
        self.replicas.clear()
        self.cluster.close()
        if self.etcd is not None:
            self.etcd.close()
