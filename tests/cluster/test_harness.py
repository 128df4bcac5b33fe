"""Tests of the laptop-cluster harness itself: the network, private storage,
a laptop dropping off, a network cut, cleanup, and real Open MPI runs across
laptops through netns-rsh. Needs root; exits 77 (skipped) otherwise."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import laptop_cluster
from laptop_cluster import LaptopCluster

HERE = Path(__file__).resolve().parent
NETNS_RSH = HERE / "netns-rsh"
PYTHON = sys.executable
MPIEXEC = os.environ.get("SPARE_MPIEXEC") or "mpirun"
MPI_ENVIRONMENT = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1",
                   "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
ECHO_PORT = 7000  # every laptop has its own port space

ECHO_SERVER = """
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
print(server.getsockname()[1], flush=True)
while True:
    connection, _ = server.accept()
    with connection:
        connection.sendall(connection.recv(64))
"""

ECHO_CLIENT = """
import socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with socket.create_connection((host, port), timeout=timeout) as connection:
    connection.sendall(b"ping")
    print(connection.recv(64).decode())
"""


def setUpModule():
    laptop_cluster.exit_unless_available()


def netns_names():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def link_names():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line.split(": ", 1)[1].split("@")[0].split(":")[0] for line in out.splitlines()]


def spare_worker():
    """spare-worker beside $SPARE_BIN (as ctest sets it), else on PATH."""
    if "SPARE_WORKER" in os.environ:
        return os.environ["SPARE_WORKER"]
    if "SPARE_BIN" in os.environ:
        return str(Path(os.environ["SPARE_BIN"]).with_name("spare-worker"))
    return shutil.which("spare-worker")


class ClusterTestCase(unittest.TestCase):
    """A test with a fresh two-laptop cluster, removed at the end."""

    def setUp(self):
        self.cluster = LaptopCluster(2)
        self.addCleanup(self.cluster.close)

    def start_echo_server(self, k):
        """An echo server on laptop k; returns once it listens."""
        server = self.cluster.start(k, [PYTHON, "-c", ECHO_SERVER, "0.0.0.0", ECHO_PORT],
                                    stdout=subprocess.PIPE)
        self.addCleanup(server.stdout.close)
        self.assertEqual(server.stdout.readline().strip(), str(ECHO_PORT).encode())
        return server

    def echo(self, k, host, port=ECHO_PORT, timeout=2.0):
        """Connects from laptop k to host:port; True if the echo came back."""
        done = self.cluster.exec(k, [PYTHON, "-c", ECHO_CLIENT, host, port, timeout],
                                 timeout=timeout + 10)
        return done.returncode == 0 and done.stdout.strip() == "ping"

    def wait_until(self, condition, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail(f"timed out waiting until {what}")
            time.sleep(0.05)


class NetworkTest(ClusterTestCase):

    def test_laptops_reach_each_other_and_the_coordinator(self):
        self.start_echo_server(2)
        self.assertTrue(self.echo(1, self.cluster.laptop(2).address))

        # The coordinator listens in the root namespace, on the bridge.
        coordinator = subprocess.Popen(
            [PYTHON, "-c", ECHO_SERVER, self.cluster.coordinator_address, "0"],
            stdout=subprocess.PIPE, start_new_session=True)
        self.addCleanup(coordinator.wait)
        self.addCleanup(coordinator.kill)
        self.addCleanup(coordinator.stdout.close)
        port = int(coordinator.stdout.readline())
        self.assertTrue(self.echo(1, self.cluster.coordinator_address, port))

    def test_addresses_are_in_the_cluster_subnet(self):
        cluster = self.cluster
        self.assertEqual(cluster.interface_subnet_for_mpi, cluster.subnet)
        for k in cluster.laptops:
            out = cluster.exec(k, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
            self.assertIn(f" {cluster.laptop(k).address}/24 ", out)
            self.assertEqual(cluster.exec(k, ["hostname"]).stdout.strip(),
                             cluster.laptop(k).netns)

    def test_new_laptop_joins_and_reaches_the_others(self):
        self.start_echo_server(1)
        k = self.cluster.add_laptop()
        self.assertEqual(k, 3)
        self.assertTrue(self.echo(k, self.cluster.laptop(1).address))
        hosts = Path(f"/run/spare-cluster/{self.cluster.prefix}.hosts").read_text()
        self.assertIn(f"{self.cluster.laptop(k).address} {self.cluster.laptop(k).netns}\n",
                      hosts)

    def test_cut_network_makes_laptop_unreachable_until_restored(self):
        self.start_echo_server(2)
        address = self.cluster.laptop(2).address
        self.assertTrue(self.echo(1, address))

        self.cluster.cut_network(2)
        started = time.monotonic()
        self.assertFalse(self.echo(1, address, timeout=1.0))
        self.assertLess(time.monotonic() - started, 5.0)

        self.cluster.restore_network(2)
        self.wait_until(lambda: self.echo(1, address, timeout=1.0), "laptop 2 is back")
        # Also outbound: the default route is back.
        self.start_echo_server(1)
        self.assertTrue(self.echo(2, self.cluster.laptop(1).address))


class ProcessTest(ClusterTestCase):

    def test_storage_is_private_to_each_laptop(self):
        storage = self.cluster.laptop(1).storage
        writer = self.cluster.start(
            1, ["sh", "-c", 'echo secret > "$0/file" && echo written && exec sleep 60', storage],
            stdout=subprocess.PIPE)
        self.addCleanup(writer.stdout.close)
        self.assertEqual(writer.stdout.readline(), b"written\n")

        # The writer sees its file, through its own mount namespace...
        seen_by_writer = Path(f"/proc/{writer.pid}/root{storage}/file")
        self.assertEqual(seen_by_writer.read_text(), "secret\n")
        # ...the root namespace and laptop 2 see an empty directory.
        self.assertEqual(list(storage.iterdir()), [])
        reader = self.cluster.start(2, ["ls", "-A", storage], stdout=subprocess.PIPE)
        out, _ = reader.communicate(timeout=10)
        self.assertEqual(reader.returncode, 0)
        self.assertEqual(out, b"")

    def test_kill_laptop_leaves_no_process(self):
        cluster = self.cluster
        started = [cluster.start(1, ["sleep", "300"]),
                   cluster.start(1, ["sh", "-c", "sleep 300 & sleep 300 & wait"])]
        # One that left its session and is no child of this process.
        cluster.exec(1, ["sh", "-c", "setsid sleep 300 > /dev/null 2>&1 < /dev/null &"])
        survivor = cluster.start(2, ["sleep", "300"])
        self.wait_until(lambda: len(cluster.processes(1)) >= 5, "laptop 1 runs everything")

        cluster.kill_laptop(1)
        self.assertEqual(cluster.processes(1), [])
        for process in started:
            self.assertEqual(process.returncode, -signal.SIGKILL)
        self.assertIsNone(survivor.poll(), "laptop 2 must live on")


class CleanupTest(unittest.TestCase):

    def assert_removed(self, prefix, processes=()):
        self.assertFalse([n for n in netns_names() if n.startswith(prefix)])
        self.assertFalse([n for n in link_names() if n.startswith(prefix)])
        self.assertFalse(Path(f"/tmp/{prefix}-storage").exists())
        self.assertFalse(list(Path("/run/spare-cluster").glob(f"{prefix}.*")))
        for process in processes:
            self.assertIsNotNone(process.poll())

    def test_close_removes_everything(self):
        cluster = LaptopCluster(2)
        sleeper = cluster.start(1, ["sleep", "300"])
        self.assertEqual(len([n for n in netns_names() if n.startswith(cluster.prefix)]), 2)
        self.assertIn(cluster.bridge, link_names())
        cluster.close()
        self.assert_removed(cluster.prefix, [sleeper])
        cluster.close()  # idempotent

    def test_close_runs_after_exception_in_with_block(self):
        with self.assertRaises(RuntimeError):
            with LaptopCluster(2) as cluster:
                sleeper = cluster.start(2, ["sleep", "300"])
                raise RuntimeError("a failing test")
        self.assert_removed(cluster.prefix, [sleeper])

    def test_stale_cluster_of_dead_owner_is_removed(self):
        # An owner that is SIGKILLed: neither close() nor atexit runs.
        owner = subprocess.Popen(
            [PYTHON, "-c", "import laptop_cluster, sys\n"
                           "cluster = laptop_cluster.LaptopCluster(2)\n"
                           "cluster.start(1, ['sleep', '300'])\n"
                           "print(cluster.prefix, flush=True)\n"
                           "sys.stdin.read()\n"],
            cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        prefix = owner.stdout.readline().strip()
        owner.stdout.close()
        self.assertRegex(prefix, laptop_cluster.PREFIX_PATTERN)
        self.assertIn(f"{prefix}-lap1", netns_names())
        owner.kill()
        owner.wait()
        owner.stdin.close()

        laptop_cluster.cleanup_stale()
        self.assert_removed(prefix)


class MpiTest(ClusterTestCase):
    """Open MPI across laptops: --host takes the laptops' addresses, and
    netns-rsh starts each daemon in its laptop's namespace."""

    def mpirun_command(self, ranks_argv):
        cluster = self.cluster
        hosts = ",".join(cluster.laptop(k).address for k in (1, 2))
        return [MPIEXEC, "--host", hosts, "-np", "2",
                "--mca", "plm_rsh_agent", str(NETNS_RSH),
                "--mca", "btl_tcp_if_include", cluster.interface_subnet_for_mpi,
                "--mca", "oob_tcp_if_include", cluster.interface_subnet_for_mpi,
                "--mca", "btl", "tcp,self", *map(str, ranks_argv)]

    def run_mpirun(self, ranks_argv, on_laptop=None):
        """Runs mpirun in the root namespace or on laptop `on_laptop`."""
        command = self.mpirun_command(ranks_argv)
        started = time.monotonic()
        if on_laptop is None:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                  env=MPI_ENVIRONMENT)
        else:
            done = self.cluster.exec(on_laptop, command, timeout=60, env=MPI_ENVIRONMENT)
        seconds = time.monotonic() - started
        self.assertEqual(done.returncode, 0, f"{' '.join(command)}\nstdout:\n{done.stdout}\n"
                                             f"stderr:\n{done.stderr}")
        return done, seconds

    def run_job_across_laptops(self, on_laptop=None):
        worker = spare_worker()
        self.assertTrue(worker and os.access(worker, os.X_OK),
                        "spare-worker not found: set SPARE_BIN or SPARE_WORKER")
        # The bare harness: no private storage, so both ranks write into the
        # shared /tmp. Each rank writes its own shard.
        scratch = Path(tempfile.mkdtemp(prefix="spare-cluster-"))
        self.addCleanup(shutil.rmtree, scratch, ignore_errors=True)
        output = scratch / "out"
        job = scratch / "job.ini"
        job.write_text("[job]\nname = cluster\nkernel = heat2d\nsteps = 20\nranks = 2\n"
                       f"output = {output}\n"
                       "[checkpoint]\ninterval_steps = 10\ninterval_seconds = 0\nkeep = 2\n"
                       "[heat2d]\nnx = 96\nny = 80\ninit = sine\namplitude = 1.0\n")
        done, seconds = self.run_mpirun([worker, "--job", job], on_laptop)
        where = "in the root namespace" if on_laptop is None else f"on laptop {on_laptop}"
        print(f"\n2-rank heat2d job, mpirun {where}: {seconds:.2f} s", file=sys.stderr)

        events = [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines()
                  if line.startswith("SPARE-EVENT ")]
        self.assertIn({"event": "done", "step": 20},
                      [{"event": e["event"], "step": e.get("step")} for e in events])
        manifest = json.loads((output / "checkpoints" / "step-000000000020" /
                               "MANIFEST.json").read_text())
        self.assertEqual(sorted(shard["rank"] for shard in manifest["shards"]), [0, 1])

    def test_mpirun_places_one_rank_on_each_laptop(self):
        # Also the cost of starting a 2-rank group across namespaces.
        times = []
        for _ in range(3):
            done, seconds = self.run_mpirun(["hostname"])
            times.append(seconds)
            self.assertEqual(sorted(done.stdout.split()),
                             [self.cluster.laptop(k).netns for k in (1, 2)])
        print(f"\nmpirun start across 2 laptops (a trivial program): "
              f"{', '.join(f'{t:.3f}' for t in times)} s", file=sys.stderr)
        self.assertLess(min(times), 5.0)

    def test_mpirun_in_root_namespace_runs_a_job_across_laptops(self):
        self.run_job_across_laptops()

    def test_mpirun_on_group_head_laptop_runs_a_job_across_laptops(self):
        # As the product does it: mpirun on one of the group's laptops.
        self.run_job_across_laptops(on_laptop=1)


if __name__ == "__main__":
    unittest.main()
