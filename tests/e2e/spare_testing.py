"""Helpers for end-to-end tests of the real `spare` program: job files, runs,
process trees to kill, and results read back with h5py."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import h5py

SPARE = os.environ.get("SPARE_BIN", "spare")

BASE_JOB = {
    "job": {"name": "t", "kernel": "heat2d", "steps": "100", "ranks": "2"},
    "checkpoint": {"interval_steps": "0", "interval_seconds": "0", "keep": "2"},
    "heat2d": {"nx": "96", "ny": "80", "init": "sine", "amplitude": "1.0"},
}


def write_job(path, **sections):
    """Writes BASE_JOB with `sections` ({"heat2d": {"nx": "64"}}) merged in;
    a section given as None is left out."""
    job = {name: dict(keys) for name, keys in BASE_JOB.items()}
    for name, keys in sections.items():
        if keys is None:
            job.pop(name, None)
        else:
            job.setdefault(name, {}).update(keys)
    lines = []
    for name, keys in job.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in keys.items()]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def descendants(pid):
    """All processes below `pid`, from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_name(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def kill_tree(process):
    """SIGKILL to a process and everything below it at once: a power cut."""
    pids = [process.pid] + descendants(process.pid)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)
    deadline = time.time() + 30
    while any(Path(f"/proc/{pid}").exists() and command_name(pid) for pid in pids[1:]):
        if time.time() > deadline:
            raise AssertionError("processes survived SIGKILL")
        time.sleep(0.05)


def complete_checkpoints(output):
    """Steps of the checkpoints in `output` that have a committed manifest."""
    root = Path(output) / "checkpoints"
    if not root.is_dir():
        return []
    steps = []
    for d in root.iterdir():
        m = re.fullmatch(r"step-(\d+)", d.name)
        if m and (d / "MANIFEST.json").exists():
            steps.append(int(m.group(1)))
    return sorted(steps)


def result_digest(output, datasets=("temperature",)):
    """SHA-256 of the result's datasets, with their shapes and types."""
    digest = hashlib.sha256()
    with h5py.File(Path(output) / "result.h5", "r") as f:
        for name in datasets:
            data = f[name][...]
            digest.update(str((name, data.shape, data.dtype.str)).encode() + data.tobytes())
    return digest.hexdigest()


# Built with the tests (tests/mpi/CMakeLists.txt): preloaded, it makes reads of
# the file named by SPARE_TEST_EIO_PATH fail with EIO.
EIO_SHIM = Path(os.environ.get("SPARE_BUILD_DIR", ".")) / "tests" / "support" / \
    "libspare_test_eio_shim.so"


def failing_reads_of(path):
    """The environment of a run on a disk that cannot read `path` (EIO)."""
    if not EIO_SHIM.is_file():
        raise AssertionError(f"{EIO_SHIM} is not built: cmake --build the tests first")
    env = dict(os.environ, LD_PRELOAD=str(EIO_SHIM), SPARE_TEST_EIO_PATH=str(Path(path).resolve()))
    # AddressSanitizer insists on loading first; the shim only forwards to it.
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))
    return env


def flip_byte(shard, dataset, at=16):
    """Flips one byte inside `dataset`'s data in the HDF5 file `shard`."""
    with h5py.File(shard, "r") as f:
        offset = f[dataset].id.get_offset()
    with open(shard, "r+b") as f:
        f.seek(offset + at)
        byte = f.read(1)[0]
        f.seek(offset + at)
        f.write(bytes([byte ^ 0x40]))


class SpareTestCase(unittest.TestCase):
    """A test with its own scratch directory."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="spare-e2e-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def spare(self, *args, expect=0, timeout=600, env=None):
        """Runs spare to the end (in `env`, if given); checks its exit code;
        returns the CompletedProcess."""
        done = subprocess.run([SPARE, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, cwd=self.tmp, env=env)
        if expect is not None:
            self.assertEqual(done.returncode, expect,
                             f"spare {' '.join(map(str, args))}\nstdout:\n{done.stdout}\n"
                             f"stderr:\n{done.stderr}")
        return done

    def start(self, *args):
        """Starts spare in the background, in its own session."""
        log = open(self.tmp / f"spare-{time.time_ns()}.log", "w+")
        self.addCleanup(log.close)
        process = subprocess.Popen([SPARE, *map(str, args)], stdout=log, stderr=subprocess.STDOUT,
                                   cwd=self.tmp, start_new_session=True)
        process.log = log
        self.addCleanup(lambda: process.poll() is None and kill_tree(process))
        return process

    def wait_for(self, condition, what, timeout=120, process=None):
        deadline = time.time() + timeout
        while not condition():
            if process is not None and process.poll() is not None:
                process.log.seek(0)
                self.fail(f"spare exited ({process.returncode}) before {what}:\n"
                          f"{process.log.read()}")
            if time.time() > deadline:
                self.fail(f"timed out waiting for {what}")
            time.sleep(0.05)
