"""A real `spare pool` on loopback, with a scientist's token, and, on request, a
real `spare volunteer` on loopback lending CPUs (a group of one: mpirun on this
machine): for the backends' tests and the move benchmark. Stop it with close()."""

import os
import signal
import subprocess
import time
from pathlib import Path


class LoopbackPool:
    def __init__(self, spare, root, env=None):
        self.spare, self.root = spare, Path(root)
        self.env = env or dict(os.environ)
        self.state = self.root / "pool-state"
        self.processes = []
        self.token = self._token("me", "scientist")
        self.token_file = self.root / "lab.token"
        self.token_file.write_text(self.token + "\n")
        with open(self.root / "pool.log", "wb") as log:
            pool = subprocess.Popen([spare, "pool", "--state", self.state, "--listen",
                                     "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=log,
                                    text=True, start_new_session=True, env=self.env)
        self.processes.append(pool)
        self.url = pool.stdout.readline().split()[-1]
        self.fingerprint = pool.stdout.readline().split()[-1]
        pool.stdout.close()
        if not self.url.startswith("https://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"spare pool did not say where it listens: {self.url!r}")

    def _token(self, name, role):
        return subprocess.run([self.spare, "pool", "token", "add", name, "--role", role,
                               "--state", self.state], capture_output=True, text=True,
                              check=True, env=self.env).stdout.strip()

    def section(self, name="lab"):
        """Its backends.ini section."""
        return (f"[{name}]\ntype = pool\nurl = {self.url}\ntoken_file = {self.token_file}\n"
                f"fingerprint = {self.fingerprint}\n")

    def add_volunteer(self, cpus=2, timeout=30):
        """A volunteer lending `cpus` CPUs; returns once it has registered."""
        log_file = self.root / "volunteer.log"
        with open(log_file, "wb") as log:
            self.processes.append(subprocess.Popen(
                [self.spare, "volunteer", "--pool", self.url, "--token",
                 self._token("lender", "volunteer"), "--fingerprint", self.fingerprint,
                 "--cpus", str(cpus), "--storage", self.root / "lender", "--name", "lender",
                 "--address", "127.0.0.1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env))
        deadline = time.time() + timeout
        while "registered with" not in log_file.read_text(errors="replace"):
            if time.time() > deadline or self.processes[-1].poll() is not None:
                raise RuntimeError("the volunteer did not register:\n" + log_file.read_text())
            time.sleep(0.1)

    def close(self):
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self.processes = []
