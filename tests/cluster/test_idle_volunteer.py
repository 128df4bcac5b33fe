"""A volunteer that lends only idle time (`spare volunteer --when idle`),
on the laptop cluster with a recorded machine (SPARE_TEST_MACHINE_ROOT:
/proc/interrupts and /sys/class/power_supply files the test writes): it
lends once the keyboard has been quiet, leaves gracefully when someone types
(its group checkpoints and drains: no step is lost, the result is bit for
bit a local run's), says why in `spare volunteer status`, and lends again
when the machine is idle again. Needs root; exits 77 (skipped) otherwise."""

import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from pool_cluster import SPARE  # noqa: E402
# setUpModule skips the module without a laptop cluster.
from pool_test_case import PoolTestCase, setUpModule  # noqa: E402,F401

IDLE_AFTER = 3  # seconds without input before the laptop lends
STEPS = 40000  # seconds of stepping on the laptop cluster, before and after the owner is back


class RecordedMachine:
    """The files an idle-only agent reads instead of the machine's: a
    laptop's /proc/interrupts (keyboard and touchpad on i8042) and its power
    supplies, plugged in."""

    def __init__(self, root):
        self.root = Path(root)
        self.keys = 4000
        self.power_supply = self.root / "sys/class/power_supply"
        for name, files in {"AC": {"type": "Mains", "online": "1"},
                            "BAT0": {"type": "Battery", "status": "Charging"}}.items():
            (self.power_supply / name).mkdir(parents=True, exist_ok=True)
            for file, text in files.items():
                (self.power_supply / name / file).write_text(text + "\n")
        (self.root / "proc").mkdir(parents=True, exist_ok=True)
        self.write_interrupts()
        self._typing = None

    def write_interrupts(self):
        text = ("           CPU0       CPU1\n"
                "  0:         41          0   IO-APIC   2-edge      timer\n"
                f"  1:  {self.keys:9d}        12   IO-APIC   1-edge      i8042\n"
                " 12:      90210        400   IO-APIC  12-edge      i8042\n"
                "LOC:    7000000    6500000   Local timer interrupts\n")
        part = self.root / "proc/interrupts.part"
        part.write_text(text)
        part.replace(self.root / "proc/interrupts")

    def start_typing(self):
        """Someone types: a key every 0.2 s until stop_typing()."""
        stop = threading.Event()

        def type_keys():
            while not stop.is_set():
                self.keys += 2
                self.write_interrupts()
                stop.wait(0.2)

        thread = threading.Thread(target=type_keys, daemon=True)
        thread.start()
        self._typing = (stop, thread)

    def stop_typing(self):
        stop, thread = self._typing
        stop.set()
        thread.join()


class IdleVolunteer(PoolTestCase):
    laptops = 1  # lap1 lends always; the idle-only laptop is added by the test

    def volunteer_status(self, k):
        """`spare volunteer status --json` on laptop k, seeing its storage."""
        done = self.on_agent_mounts(k, [SPARE, "volunteer", "status", "--json", "--storage",
                                        str(self.pool.cluster.laptop(k).storage)])
        self.assertIn(done.returncode, (0, 1), done.stderr)
        status = json.loads(done.stdout)
        self.assertEqual(status["running"], done.returncode == 0)
        return status

    def wait_for_status(self, k, predicate, what, timeout=30):
        deadline = time.time() + timeout
        status = None
        while time.time() < deadline:
            status = self.volunteer_status(k)
            if predicate(status):
                return status
            time.sleep(0.2)
        raise AssertionError(f"laptop {k}: {what} not seen; last status {status}")

    def test_lends_stops_for_the_owner_and_lends_again(self):
        pool = self.pool
        machine = RecordedMachine(self.tmp / "machine")
        k = pool.cluster.add_laptop()
        pool.start_agent(k, "--when", "idle", "--idle-after", f"{IDLE_AFTER}s",
                         "--on-battery", "no",
                         environment={"SPARE_TEST_MACHINE_ROOT": str(machine.root)})
        name = pool.cluster.laptop(k).netns
        # Nobody types: after IDLE_AFTER seconds it registers and lends.
        pool.wait_for_volunteers(2)
        status = self.wait_for_status(k, lambda s: s["phase"] == "lending", "lending")
        self.assertTrue(status["lending"])
        self.assertIn("no keyboard or mouse input for", status["why"])
        self.assertIn("on mains power", status["why"])
        self.assertEqual(status["policy"], f"when idle for {IDLE_AFTER}s, not on battery")

        # Long enough to be running when the owner comes back, however fast the machine.
        job_file = self.long_job_file(STEPS)
        job = pool.submit(job_file)
        running = pool.wait_until(
            job, lambda s: s["state"] == "running" and s["step"] > 0 and len(s["volunteers"]) == 2,
            what="running on both laptops")
        self.assertTrue(any(v.startswith(name) for v in running["volunteers"]), running)
        status = self.wait_for_status(k, lambda s: s["groups"], "its group")
        self.assertEqual(status["groups"][0]["job"], job)

        # The owner is back: the laptop leaves gracefully, its group checkpoints first.
        machine.start_typing()
        try:
            reformed = pool.wait_until(
                job, lambda s: s["state"] == "running" and s["volunteers"]
                and not any(v.startswith(name) for v in s["volunteers"]),
                what="re-formed without the idle laptop")
            status = self.wait_for_status(k, lambda s: s["phase"] == "waiting", "waiting")
            self.assertFalse(status["lending"])
            self.assertEqual(status["blocked_by"], "input")
            self.assertRegex(status["why"], r"^not lending: the keyboard or mouse was used \d+s "
                                            rf"ago \(idle after {IDLE_AFTER}s\)$")
            self.assertEqual(status["groups"], [])
            shown = self.on_agent_mounts(k, [SPARE, "volunteer", "status", "--storage",
                                             str(pool.cluster.laptop(k).storage)])
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertIn("now       waiting: not lending: the keyboard or mouse was used",
                          shown.stdout)
            # Gone from the pool while its owner works, not lost.
            states = {v["name"].split("@")[0]: v["state"] for v in pool.pool_status()["volunteers"]}
            self.assertEqual(states[name], "gone", states)
            self.assertGreaterEqual(reformed["restarts"], 1)
        finally:
            machine.stop_typing()

        # Idle again: it registers again and lends.
        status = self.wait_for_status(k, lambda s: s["phase"] == "lending", "lending again",
                                      timeout=IDLE_AFTER + 30)
        pool.wait_for_volunteers(2)
        log = (pool.logs / f"agent-lap{k}.log").read_text()
        self.assertIn("the lending policy no longer holds: leaving the pool gracefully", log)
        self.assertEqual(log.count("registered with"), 2, log)

        final = pool.wait_done(job)
        self.assertEqual(final["step"], STEPS)
        # Zero steps lost: the next group started exactly where the drained one stopped.
        events = pool.events(job)
        drained = [int(re.search(r"stopped at step (\d+)", text).group(1))
                   for kind, text in events if kind == "restart" and "stopped at step" in text]
        self.assertEqual(len(drained), 1, events)
        self.assertEqual(self.started_steps(job)[1], drained[0])
        self.assertEqual(self.fetched_digest(job), self.reference_digest(job_file))

        # And it does lend again: a job for two ranks needs it.
        second = pool.submit(self.job_file("two.ini", job={"steps": "300", "ranks": "2"}))
        done = pool.wait_done(second)
        self.assertTrue(any(v.startswith(name) for v in done["volunteers_used"]), done)


class VolunteerOptions(unittest.TestCase):
    """No pool needed: the options are checked before the agent starts."""

    def test_bad_policy_options_are_refused_before_anything_starts(self):
        tmp = Path(tempfile.mkdtemp(prefix="spare-idle-options-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        for args, message in (
                (["--when", "sometimes"], "--when sometimes: expected always or idle"),
                (["--when", "idle", "--idle-after", "5 minutes"], "--idle-after 5 minutes"),
                (["--hours", "25:00-07:00"], "--hours 25:00-07:00: expected FROM-TO"),
                (["--on-battery", "maybe"], "--on-battery maybe: expected yes or no"),
                (["--max-load", "2"], "--max-load 2: expected the fraction"),
                (["--idle-after", "1min"], "--idle-after applies to --when idle")):
            done = subprocess.run([SPARE, "volunteer", "--storage", str(tmp / "storage"), *args],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(message, done.stderr, args)
        # No status without an agent having run there.
        done = subprocess.run([SPARE, "volunteer", "status", "--storage", str(tmp / "none")],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertIn("no volunteer's agent has run with the storage", done.stderr)


if __name__ == "__main__":
    unittest.main()
