"""A cluster of simulated laptops on this machine, for tests of the pool.

Each laptop is a network namespace with its own address on a private /24
test subnet and its own hostname (<prefix>-lapK), joined to the root namespace by a veth pair into a bridge whose
address (.1) is where the coordinator listens. Processes started on a laptop
get a private, empty tmpfs at the cluster's storage directory, so no test can
pass by sharing a file system (see "Multi-host on one machine" in DESIGN.md).

    with LaptopCluster(2) as cluster:
        agent = cluster.start(1, ["spare", "volunteer", ...])
        cluster.kill_laptop(1)        # a laptop drops off
        cluster.cut_network(2)        # a network cut

Every cluster records itself in /run/spare-cluster/ (<prefix>.json: owner
PID and subnet; <prefix>.hosts: "ADDRESS NETNS" per laptop, read by
netns-rsh). A cluster whose owner died without closing it is removed by the
next LaptopCluster() or by cleanup_stale().

Run as a program: `laptop_cluster.py up N`, `down PREFIX`, `list`, `clean`.
"""

import atexit
import fcntl
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = Path("/run/spare-cluster")
SUBNET_TEMPLATE = "10.201.{}.0/24"  # the third octet is picked free per cluster
FIRST_LAPTOP_HOST = 10  # laptop k has host part 10 + k
MAX_LAPTOPS = 244  # 10 + 244 = 254, the last host of a /24
PREFIX_PATTERN = re.compile(r"sp[0-9a-f]{4}")
SKIP_RETURN_CODE = 77  # what ctest's SKIP_RETURN_CODE expects
# Words `ip route` may put before a route's destination.
ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "anycast", "unreachable",
               "blackhole", "prohibit", "throw", "nat"}


class ClusterUnavailable(Exception):
    """This machine cannot host a laptop cluster (not root, no netns...)."""


@dataclass(frozen=True)
class Laptop:
    index: int
    name: str  # lapK
    netns: str  # <prefix>-lapK
    address: str  # the IPv4 address of eth0 inside the netns
    storage: Path  # private tmpfs for every process started with start()
    veth: str  # the bridge-side end of its veth pair, in the root namespace


def _run(argv, check=True, timeout=30):
    """Runs a command quietly; raises with its stderr when it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): "
                           f"{done.stderr.strip()}")
    return done


def _netns_names():
    # `ip netns list` prints "NAME" or "NAME (id: N)".
    out = _run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _link_names():
    out = _run(["ip", "-o", "link", "show"]).stdout
    # "5: sp12ab-v1@if2: <...>": the name ends at "@" or ":".
    return [re.split(r"[@:]", line.split(": ", 1)[1], maxsplit=1)[0]
            for line in out.splitlines()]


def _netns_pids(netns):
    done = _run(["ip", "netns", "pids", netns], check=False)
    return [int(pid) for pid in done.stdout.split()]


def _kill_netns_processes(netns, timeout=10.0):
    """SIGKILLs every process in `netns` until none is left (children forked
    meanwhile are caught by the next round)."""
    deadline = time.monotonic() + timeout
    while pids := _netns_pids(netns):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {pids} in {netns} survive SIGKILL")
        time.sleep(0.01)


def _process_start_time(pid):
    """The kernel's start time of `pid`, so a recycled PID is not taken for
    the owner; None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _remove_cluster_resources(prefix):
    """Removes every namespace, link and directory named after `prefix`;
    safe to call on a half-built or already removed cluster."""
    netns_prefix = f"{prefix}-"
    for netns in _netns_names():
        if netns.startswith(netns_prefix):
            _kill_netns_processes(netns)
            _run(["ip", "netns", "delete", netns], check=False)
    # Deleting a netns deletes the veth ends in it and so their peers; what
    # is left is the bridge and any veth of a laptop that was never moved.
    for link in _link_names():
        if link.startswith(netns_prefix):
            _run(["ip", "link", "delete", link], check=False)
    shutil.rmtree(f"/tmp/{prefix}-storage", ignore_errors=True)
    for suffix in (".hosts", ".json"):  # the record last: it marks leftovers
        (STATE_DIR / f"{prefix}{suffix}").unlink(missing_ok=True)


class _StateLock:
    """Serialises picking prefixes and subnets among concurrent clusters."""

    def __enter__(self):
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self._file = open(STATE_DIR / "lock", "w")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self._file.close()  # releases the lock


def _cluster_records():
    """{prefix: record} for every cluster recorded in STATE_DIR."""
    records = {}
    for path in STATE_DIR.glob("*.json"):
        try:
            records[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            records[path.stem] = {}  # half-written: its owner died at once
    return records


def _owner_alive(record):
    pid = record.get("owner_pid")
    return pid is not None and _process_start_time(pid) == record.get("owner_start")


def cleanup_stale():
    """Removes the clusters whose owning process is gone; returns their
    prefixes. A test killed mid-way must not break the next run."""
    if not STATE_DIR.is_dir():
        return []
    removed = []
    with _StateLock():
        for prefix, record in _cluster_records().items():
            if not _owner_alive(record):
                _remove_cluster_resources(prefix)
                removed.append(prefix)
    return removed


def check_available():
    """Raises ClusterUnavailable, with the reason, unless this process can
    create network namespaces and mount a tmpfs in one."""
    if os.geteuid() != 0:
        raise ClusterUnavailable("the laptop cluster needs root (network namespaces, mounts)")
    for tool in ("ip", "unshare", "mount"):
        if shutil.which(tool) is None:
            raise ClusterUnavailable(f"'{tool}' is not installed")
    probe = f"spprobe-{os.getpid()}"
    try:
        done = _run(["ip", "netns", "add", probe], check=False)
        if done.returncode != 0:
            raise ClusterUnavailable(f"ip netns add fails: {done.stderr.strip()}")
        done = _run(["ip", "netns", "exec", probe, "unshare", "--mount", "--propagation",
                     "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt"], check=False)
        if done.returncode != 0:
            raise ClusterUnavailable(f"cannot mount a tmpfs in a namespace: "
                                     f"{done.stderr.strip()}")
    finally:
        _run(["ip", "netns", "delete", probe], check=False)


def exit_unless_available(code=SKIP_RETURN_CODE):
    """For test programs: exits with `code` (ctest's SKIP_RETURN_CODE) and
    the reason when no cluster can be made here, so a test is never
    reported as passed without having run."""
    try:
        check_available()
    except ClusterUnavailable as error:
        print(f"SKIPPED: laptop cluster unavailable: {error}", file=sys.stderr, flush=True)
        sys.exit(code)


class LaptopCluster:
    """N simulated laptops on a bridge; see the module's documentation."""

    def __init__(self, laptops=2):
        check_available()
        self._owner_pid = os.getpid()
        self._laptops = {}
        self._processes = {}  # laptop index -> Popen objects started there
        self._closed = False
        cleanup_stale()
        self.prefix, self.subnet = self._reserve()
        network = ipaddress.ip_network(self.subnet)
        self._network = network
        self.coordinator_address = str(network.network_address + 1)
        self.bridge = f"{self.prefix}-br"
        self.storage = Path(f"/tmp/{self.prefix}-storage")
        atexit.register(self.close)
        try:
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
            _run(["ip", "addr", "add", f"{self.coordinator_address}/{network.prefixlen}",
                  "dev", self.bridge])
            _run(["ip", "link", "set", self.bridge, "up"])
            # Empty in the root namespace for good: laptops mount over it.
            self.storage.mkdir(mode=0o755)
            for _ in range(laptops):
                self.add_laptop()
        except BaseException:
            self.close()
            raise

    # Where the MPI traffic goes: btl_tcp_if_include and oob_tcp_if_include.
    @property
    def interface_subnet_for_mpi(self):
        return self.subnet

    @property
    def laptops(self):
        """Indices of the laptops, in order."""
        return sorted(self._laptops)

    def laptop(self, k):
        return self._laptops[k]

    def _reserve(self):
        """Picks a prefix and a free subnet and records them with this
        process as owner, all under the lock, so two clusters never pick
        the same."""
        with _StateLock():
            records = _cluster_records()
            taken = [ipaddress.ip_network(r["subnet"]) for r in records.values()
                     if "subnet" in r] + self._networks_in_use()
            netns_names, link_names = _netns_names(), _link_names()
            for _ in range(100):
                prefix = f"sp{random.getrandbits(16):04x}"
                subnet = ipaddress.ip_network(SUBNET_TEMPLATE.format(random.randrange(1, 255)))
                clash = (prefix in records
                         or any(n.startswith(prefix) for n in netns_names + link_names)
                         or any(subnet.overlaps(net) for net in taken))
                if not clash:
                    break
            else:
                raise ClusterUnavailable("no free prefix and 10.201.X.0/24 subnet found")
            record = {"owner_pid": self._owner_pid,
                      "owner_start": _process_start_time(self._owner_pid),
                      "subnet": str(subnet)}
            path = STATE_DIR / f"{prefix}.json"
            path.write_text(json.dumps(record) + "\n")
            return prefix, str(subnet)

    @staticmethod
    def _networks_in_use():
        """Networks of the root namespace's addresses and routes."""
        networks = []
        for line in _run(["ip", "-o", "-4", "addr", "show"]).stdout.splitlines():
            networks.append(ipaddress.ip_interface(line.split()[3]).network)
        for line in _run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
            words = line.split()
            destination = words[1] if words[0] in ROUTE_TYPES else words[0]
            if destination != "default":
                try:
                    networks.append(ipaddress.ip_network(destination, strict=False))
                except ValueError:
                    pass  # e.g. "multicast" entries
        return networks

    def _write_hosts(self):
        """The address -> netns map netns-rsh reads, replaced atomically."""
        lines = "".join(f"{lap.address} {lap.netns}\n" for lap in self._laptops.values())
        path = STATE_DIR / f"{self.prefix}.hosts"
        temporary = path.with_suffix(".hosts.tmp")
        temporary.write_text(lines)
        temporary.replace(path)

    def add_laptop(self):
        """Adds one more laptop, also while processes run: a laptop joins.
        Returns its index."""
        k = max(self._laptops, default=0) + 1
        if k > MAX_LAPTOPS:
            raise ValueError(f"at most {MAX_LAPTOPS} laptops fit in {self.subnet}")
        lap = Laptop(index=k, name=f"lap{k}", netns=f"{self.prefix}-lap{k}",
                     address=str(self._network.network_address + FIRST_LAPTOP_HOST + k),
                     storage=self.storage, veth=f"{self.prefix}-v{k}")
        ns = ["ip", "-n", lap.netns]
        _run(["ip", "netns", "add", lap.netns])
        self._laptops[k] = lap  # from here on close() removes it
        self._processes[k] = []
        # The peer is created right inside the netns, named eth0 there.
        _run(["ip", "link", "add", lap.veth, "type", "veth", "peer", "name", "eth0",
              "netns", lap.netns])
        _run(["ip", "link", "set", lap.veth, "master", self.bridge, "up"])
        _run(ns + ["link", "set", "lo", "up"])
        _run(ns + ["addr", "add", f"{lap.address}/{self._network.prefixlen}", "dev", "eth0"])
        _run(ns + ["link", "set", "eth0", "up"])
        _run(ns + ["route", "add", "default", "via", self.coordinator_address])
        self._write_hosts()
        return k

    def start(self, k, argv, env=None, log_path=None, **popen_options):
        """Starts `argv` on laptop k with a fresh private tmpfs at its storage
        directory; what it starts shares that tmpfs, other start()s do not.
        `env` is added to this process's environment; `log_path` takes
        stdout and stderr (appended). Runs in its own session."""
        lap = self._laptops[k]
        # As DESIGN.md says, plus a UTS namespace: see _on_laptop().
        setup = (f"hostname {lap.netns} && "
                 f'mount -t tmpfs tmpfs {shlex.quote(str(lap.storage))} && exec "$@"')
        command = ["ip", "netns", "exec", lap.netns,
                   "unshare", "--mount", "--uts", "--propagation", "private",
                   "sh", "-c", setup, "sh", *map(str, argv)]
        environment = None if env is None else {**os.environ, **env}
        log = None
        if log_path is not None:
            log = open(log_path, "ab")
            popen_options.setdefault("stdout", log)
            popen_options.setdefault("stderr", subprocess.STDOUT)
        try:
            process = subprocess.Popen(command, env=environment, start_new_session=True,
                                       **popen_options)
        finally:
            if log is not None:
                log.close()  # the child holds its own copy
        self._processes[k].append(process)
        return process

    def exec(self, k, argv, timeout=30, **run_options):
        """Runs `argv` on laptop k (its netns and hostname, no private
        storage) to the end; returns the CompletedProcess, with text stdout
        and stderr captured unless told otherwise."""
        run_options.setdefault("capture_output", True)
        run_options.setdefault("text", True)
        return subprocess.run(self._on_laptop(k, argv), timeout=timeout, **run_options)

    def _on_laptop(self, k, argv):
        """`argv` in laptop k's netns with the hostname <prefix>-lapK. Open
        MPI names its session directory in /tmp after the hostname, so
        daemons of laptops that share the machine's hostname share it, and
        8 of 50 runs then failed ("ORTE does not know how to route a
        message", PMIX dstore errors)."""
        netns = self._laptops[k].netns
        return ["ip", "netns", "exec", netns, "unshare", "--uts",
                "sh", "-c", 'hostname "$0" && exec "$@"', netns, *map(str, argv)]

    def processes(self, k):
        """PIDs of every process running in laptop k's netns."""
        return _netns_pids(self._laptops[k].netns)

    def kill_laptop(self, k):
        """SIGKILLs every process of laptop k: the laptop drops off. Its
        network stays up, so it can be used again."""
        for process in self._processes[k]:
            # Also the ones still in `ip netns exec`, not yet in the netns.
            if process.poll() is None:
                process.kill()
        _kill_netns_processes(self._laptops[k].netns)
        for process in self._processes[k]:
            process.wait(timeout=10)
        self._processes[k] = []

    def cut_network(self, k):
        """Takes laptop k's eth0 down: its processes live on, unreachable."""
        _run(["ip", "-n", self._laptops[k].netns, "link", "set", "eth0", "down"])

    def restore_network(self, k):
        """Brings laptop k's eth0 back up. The kernel dropped the default
        route when the link went down, so it is added again."""
        lap = self._laptops[k]
        _run(["ip", "-n", lap.netns, "link", "set", "eth0", "up"])
        _run(["ip", "-n", lap.netns, "route", "replace", "default",
              "via", self.coordinator_address])

    def close(self):
        """Kills every process of every laptop and removes everything the
        cluster created. Idempotent; also runs at interpreter exit."""
        if self._closed or os.getpid() != self._owner_pid:  # not in a forked child
            return
        self._closed = True
        atexit.unregister(self.close)
        for k in list(self._processes):
            for process in self._processes[k]:
                if process.poll() is None:
                    process.kill()
        with _StateLock():
            _remove_cluster_resources(self.prefix)
        for processes in self._processes.values():
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass  # stuck in the kernel; nothing more to do from here
        self._processes.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"LaptopCluster(prefix={self.prefix!r}, subnet={self.subnet!r}, "
                f"laptops={self.laptops})")


def _describe(cluster):
    print(f"cluster {cluster.prefix}: subnet {cluster.subnet}, "
          f"coordinator {cluster.coordinator_address} on {cluster.bridge}, "
          f"storage {cluster.storage}")
    for k in cluster.laptops:
        lap = cluster.laptop(k)
        print(f"  {lap.name}: netns {lap.netns}, address {lap.address}")


def main(argv):
    usage = ("usage: laptop_cluster.py up N      (create N laptops; stays until `down`)\n"
             "       laptop_cluster.py down PREFIX\n"
             "       laptop_cluster.py list\n"
             "       laptop_cluster.py clean     (remove clusters whose owner is gone)")
    if len(argv) == 2 and argv[0] == "up" and argv[1].isdigit():
        cluster = LaptopCluster(int(argv[1]))
        # Hand ownership to PID 1, which never exits, so that the cluster
        # outlives this program; `down` removes it.
        record_path = STATE_DIR / f"{cluster.prefix}.json"
        record = json.loads(record_path.read_text())
        record.update(owner_pid=1, owner_start=_process_start_time(1))
        record_path.write_text(json.dumps(record) + "\n")
        atexit.unregister(cluster.close)
        _describe(cluster)
        print(f"remove it with: {sys.argv[0]} down {cluster.prefix}")
        return 0
    if len(argv) == 2 and argv[0] == "down" and PREFIX_PATTERN.fullmatch(argv[1]):
        with _StateLock():
            _remove_cluster_resources(argv[1])
        return 0
    if argv == ["list"]:
        for prefix, record in sorted(_cluster_records().items()):
            state = "live" if _owner_alive(record) else "stale"
            print(f"{prefix} {record.get('subnet', '?')} owner {record.get('owner_pid')} "
                  f"({state})")
        return 0
    if argv == ["clean"]:
        for prefix in cleanup_stale():
            print(f"removed {prefix}")
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ClusterUnavailable as error:
        print(f"laptop cluster unavailable: {error}", file=sys.stderr)
        sys.exit(1)
