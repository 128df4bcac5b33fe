"""The pool's Prometheus metrics, scraped by a real Prometheus (Debian's
`prometheus`, its own port, data directory and configuration, all removed
afterwards) from a real pool on the laptop cluster: over HTTPS with a
metrics token, and over the plain-HTTP --metrics-listen address. A query of
spare_volunteers returns the live count, and follows a laptop killed;
`promtool check metrics` passes on the pool's real output. Needs root and
Prometheus; exits 77 (skipped) otherwise."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import laptop_cluster  # noqa: E402
from pool_test_case import PoolTestCase, https_request  # noqa: E402


def setUpModule():
    laptop_cluster.exit_unless_available()
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            print(f"SKIPPED: '{tool}' is not installed (Debian's prometheus; tools/setup.sh)",
                  file=sys.stderr, flush=True)
            sys.exit(laptop_cluster.SKIP_RETURN_CODE)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def plain_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.status, reply.headers.get("Content-Type"), reply.read().decode()


class Prometheus:
    """A Prometheus scraping `targets` ({job name: scrape config}) every second."""

    def __init__(self, directory, scrape_configs):
        self.directory = Path(directory)
        self.port = free_port()
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                             "evaluation_interval": "1s"},
                  "scrape_configs": scrape_configs}
        # JSON is YAML: no YAML library needed.
        (self.directory / "prometheus.yml").write_text(json.dumps(config, indent=1))
        self.log = open(self.directory / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={self.directory / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def query(self, expression):
        """The instant vector of `expression` as {job: value}."""
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expression}))
        status, _, body = plain_get(url)
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise AssertionError(f"query {expression}: {answer}")
        return {r["metric"].get("job"): float(r["value"][1]) for r in answer["data"]["result"]}

    def wait_for(self, expression, expected, timeout=30):
        """Waits until the query gives `expected` ({job: value}); returns the seconds it took."""
        began = time.time()
        last = None
        while time.time() - began < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited {self.process.returncode}: "
                                     f"{(self.directory / 'prometheus.log').read_text()[-2000:]}")
            try:
                last = self.query(expression)
            except OSError as error:  # still starting
                last = error
            if last == expected:
                return time.time() - began
            time.sleep(0.25)
        raise AssertionError(f"{expression}: {last} after {timeout} s, expected {expected}; "
                             f"prometheus log in {self.directory}")

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class PoolMetrics(PoolTestCase):
    laptops = 2
    coordinator_args = ("--metrics-listen", "127.0.0.1:0")

    def setUp(self):
        super().setUp()
        line = self.pool.coordinator.stdout.readline()
        self.assertTrue(line.startswith("metrics on http://127.0.0.1:"), line)
        self.metrics_url = line.split()[-1]
        self.metrics_token = self.pool.spare(
            "pool", "token", "add", "prometheus", "--role", "metrics", "--state",
            self.pool.state, env_pool=False).stdout.strip()
        self.prometheus_dir = Path(tempfile.mkdtemp(prefix="spare-prometheus-"))
        self.addCleanup(shutil.rmtree, self.prometheus_dir, True)

    def test_prometheus_scrapes_the_live_pool(self):
        pool = self.pool
        # Who may read the metrics on the pool's HTTPS port.
        for token, expected in ((self.metrics_token, 200), (pool.operator_token, 200),
                                (pool.token, 403), (pool.volunteer_token, 403),
                                ("not-a-token", 401)):
            status, _ = https_request(pool.url, "GET", "/metrics", token)
            self.assertEqual(status, expected, f"GET /metrics with the {token[:6]}... token")
        # Prometheus' token reads nothing else.
        status, _ = https_request(pool.url, "GET", "/api/v1/pool", self.metrics_token)
        self.assertEqual(status, 403)
        # Only /metrics on the plain listener.
        with self.assertRaises(urllib.error.HTTPError) as refused:
            plain_get(self.metrics_url.replace("/metrics", "/api/v1/pool"))
        self.assertEqual(refused.exception.code, 404)

        # A job, so that every family has seen something: groups, checkpoints moved.
        job = pool.submit(self.job_file(job={"steps": "600"}))
        pool.wait_done(job)
        status, content_type, text = plain_get(self.metrics_url)
        self.assertEqual(status, 200)
        self.assertEqual(content_type, "text/plain; version=0.0.4; charset=utf-8")
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                              text=True, timeout=30)
        self.assertEqual((lint.returncode, lint.stdout + lint.stderr), (0, ""), text)
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        self.assertEqual(samples['spare_volunteers{state="live"}'], 2)
        self.assertEqual(samples['spare_jobs{state="done"}'], 1)
        self.assertGreaterEqual(samples["spare_groups_formed_total"], 1)
        self.assertEqual(samples["spare_lent_cpus"], 2 * pool.cpus)
        self.assertGreater(samples['spare_checkpoint_bytes_transferred_total{direction="received"}'],
                           0)
        self.assertGreater(samples["spare_checkpoint_bytes_held"], 0)
        self.assertGreater(samples["spare_heartbeat_duration_seconds_count"], 0)

        token_file = self.prometheus_dir / "token"
        token_file.write_text(self.metrics_token)
        host_port = pool.url.split("//", 1)[1]
        prometheus = Prometheus(self.prometheus_dir, [
            {"job_name": "pool_https", "scheme": "https",
             # Prometheus cannot pin a fingerprint, and the pool's certificate names no host.
             "tls_config": {"insecure_skip_verify": True},
             "authorization": {"credentials_file": str(token_file)},
             "static_configs": [{"targets": [host_port]}]},
            {"job_name": "pool_plain",
             "static_configs": [{"targets": [self.metrics_url.split("//", 1)[1].split("/")[0]]}]},
        ])
        self.addCleanup(prometheus.close)
        both = {"pool_https": 1.0, "pool_plain": 1.0}
        prometheus.wait_for("up", both, timeout=60)
        prometheus.wait_for('spare_volunteers{state="live"}', {k: 2.0 for k in both})
        prometheus.wait_for('spare_jobs{state="done"}', {k: 1.0 for k in both})

        # A laptop dies: Prometheus sees the live count fall once the pool declares it lost.
        pool.kill_laptop(2)
        took = prometheus.wait_for('spare_volunteers{state="live"}', {k: 1.0 for k in both})
        prometheus.wait_for('spare_volunteers{state="lost"}', {k: 1.0 for k in both})
        print(f"the killed laptop counted lost in Prometheus after {took:.1f} s "
              f"(heartbeat timeout {pool.heartbeat_timeout} s)", file=sys.stderr)
        # Heartbeats were timed: a histogram Prometheus can take quantiles of.
        quantile = prometheus.query(
            "histogram_quantile(0.99, rate(spare_heartbeat_duration_seconds_bucket[10s]))")
        self.assertEqual(set(quantile), set(both))
        for value in quantile.values():
            self.assertGreater(value, 0)
            self.assertLess(value, 2.5)


if __name__ == "__main__":
    import unittest
    unittest.main()
