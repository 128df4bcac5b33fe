"""The pool's dashboard in a real browser: headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by python3-selenium) against a pool
on the laptop cluster with a job running. The job's row advances, a killed
laptop shows up as lost within seconds, the job's chart and its checkpoint
picture render, another scientist's token does not see the job, and no
request leaves the pool's origin. Screenshots are kept under the build
directory (dashboard-screenshots/) for CI. Needs root, Chromium and
Selenium; exits 77 (skipped) otherwise."""

import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import laptop_cluster  # noqa: E402
from pool_test_case import PoolTestCase, https_request  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def setUpModule():
    laptop_cluster.exit_unless_available()
    missing = [tool for tool in ("chromium", "chromedriver") if shutil.which(tool) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        print(f"SKIPPED: {', '.join(missing)} not installed (tools/setup.sh installs them)",
              file=sys.stderr, flush=True)
        sys.exit(laptop_cluster.SKIP_RETURN_CODE)


def screenshot_dir():
    build = os.environ.get("SPARE_BUILD_DIR")
    path = Path(build) / "dashboard-screenshots" if build else Path(
        tempfile.gettempdir()) / "spare-dashboard-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Dashboard(PoolTestCase):
    laptops = 2

    def setUp(self):
        super().setUp()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        # Another scientist, of no team: the first one's job is not theirs to see.
        self.other_token = self.pool.spare(
            "pool", "token", "add", "another-scientist", "--role", "scientist", "--state",
            self.pool.state, env_pool=False).stdout.strip()
        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1100",
                         # The pool's certificate is its own; clients pin it, a browser cannot.
                         "--ignore-certificate-errors",
                         f"--user-data-dir={self.tmp / 'chromium'}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.addCleanup(self.browser.quit)
        self.shots = screenshot_dir()

    # ---- what the page shows ----

    def wait_for(self, what, condition, timeout=30):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = condition()
            except Exception as error:  # the page is being redrawn
                last = error
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.2)
        self.browser.save_screenshot(str(self.shots / "failed.png"))
        raise AssertionError(f"{what}: not seen in {timeout} s (last: {last!r}); "
                             f"screenshot in {self.shots / 'failed.png'}")

    def script(self, code, *args):
        return self.browser.execute_script(code, *args)

    def sign_in(self, token):
        from selenium.webdriver.common.by import By
        self.browser.get(self.pool.url + "/")
        if self.script("return !document.getElementById('sign-out').hidden"):
            self.browser.find_element(By.ID, "sign-out").click()
        field = self.browser.find_element(By.ID, "token")
        field.send_keys(token)
        self.browser.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        self.wait_for("the overview", lambda: self.script(
            "return !document.getElementById('overview').hidden && "
            "document.getElementById('who').textContent"))

    def job_step(self, job):
        text = self.script(f"const r = document.querySelector('#jobs tr[data-job=\"{job}\"]');"
                           "return r && r.querySelector('td.step').textContent")
        return int(text.split("/")[0]) if text else None

    def volunteer_states(self):
        return self.script("return [...document.querySelectorAll('#volunteers tbody tr')]"
                           ".map(r => r.querySelector('td.state').textContent)")

    def test_watching_a_job_survive_a_laptop_dying(self):
        pool = self.pool
        job, head, member, _ = self.running_job()

        # Nothing but the pages is served without a token.
        status, _ = https_request(pool.url, "GET", "/api/v1/dashboard", "")
        self.assertEqual(status, 401)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(pool.url + "/", context=context, timeout=10) as page:
            self.assertEqual(page.status, 200)
            self.assertIn("default-src 'self'", page.headers["Content-Security-Policy"])
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(pool.url + f"/api/v1/jobs/{job}/preview.png", context=context,
                                   timeout=10)
        self.assertEqual(refused.exception.code, 401)

        # The scientist who submitted it: its row advances between two reads.
        self.sign_in(pool.token)
        first = self.wait_for("the job's row", lambda: self.job_step(job))
        self.wait_for("the job's step advancing", lambda: (self.job_step(job) or 0) > first)
        self.assertEqual(sorted(self.volunteer_states()), ["live", "live"])
        self.assertTrue(self.script("return document.getElementById('glance').textContent")
                        .startswith("2 volunteers live (2 CPUs), 0 lost; 1 job running"))
        self.browser.save_screenshot(str(self.shots / "overview.png"))

        # A laptop dies: the page shows it lost within seconds.
        killed = time.time()
        pool.kill_laptop(member)
        self.wait_for("a lost volunteer", lambda: "lost" in self.volunteer_states(),
                      timeout=pool.heartbeat_timeout + 10)
        seen = time.time() - killed
        print(f"the dashboard showed the killed laptop lost after {seen:.1f} s "
              f"(heartbeat timeout {pool.heartbeat_timeout} s)", file=sys.stderr)
        self.assertLess(seen, pool.heartbeat_timeout + 6)
        self.browser.save_screenshot(str(self.shots / "overview-laptop-lost.png"))

        # The job's page: the chart is drawn, the picture is the grid's size.
        pool.wait_until(job, lambda s: s["state"] == "running" and s["restarts"] >= 1
                        and s["checkpoint"] is not None, what="re-formed with a checkpoint held")
        self.browser.get(pool.url + f"/#/job/{job}")
        self.wait_for("the chart's samples", lambda: int(self.script(
            "return document.getElementById('chart').dataset.points || 0")) >= 3)
        painted = self.script("""
            const c = document.getElementById('chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let coloured = 0;
            for (let i = 0; i < d.length; i += 4)
              if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) ++coloured;
            return coloured;""")
        self.assertGreater(painted, 500, "the chart's canvas is blank")
        size = self.wait_for("the checkpoint's picture", lambda: self.script(
            "const i = document.getElementById('preview');"
            "return i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null"))
        self.assertEqual(size, [192, 160])  # heat2d's nx and ny (CHAOS_JOB)
        kinds = self.wait_for("the restart in the event log", lambda: (lambda k: "restart" in k
                                                                        and k)(self.script(
            "return [...document.querySelectorAll('#events tr[data-kind]')]"
            ".map(r => r.dataset.kind)")))
        self.assertIn("stored", kinds)
        self.assertIn("start", kinds)
        shard_rows = self.wait_for("where its shards are", lambda: self.script(
            "return document.querySelectorAll('#shards tbody tr').length"))
        self.assertGreaterEqual(shard_rows, 1)
        time.sleep(2.5)  # one more poll, drawn with the restart's mark
        self.browser.save_screenshot(str(self.shots / "job.png"))

        # Another scientist sees neither the job's row nor its page.
        self.sign_in(self.other_token)
        time.sleep(2.5)
        self.assertIsNone(self.job_step(job))
        self.assertEqual(self.script("return document.querySelectorAll('#jobs tbody tr').length"),
                         0)
        self.browser.get(pool.url + f"/#/job/{job}")
        message = self.wait_for("the refusal", lambda: self.script(
            "return document.getElementById('job-error').textContent"))
        self.assertIn(f"no job {job} in this pool", message)
        self.assertEqual(self.script("return document.getElementById('preview').naturalWidth"), 0)

        # Every request the browser made over the network went to the pool (the
        # browser's own chrome:// pages aside).
        urls = []
        for entry in self.browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        network = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
        self.assertGreater(len(network), 10, urls)
        foreign = [u for u in network if not u.startswith(pool.url + "/")]
        self.assertEqual(foreign, [], "requests that left the pool's origin")
        errors = [e for e in self.browser.get_log("browser") if e["level"] == "SEVERE"
                  and "404" not in e["message"]]
        self.assertEqual(errors, [], json.dumps(errors, indent=1))


if __name__ == "__main__":
    import unittest
    unittest.main()
