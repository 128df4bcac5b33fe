"""Jobs sharing cores: K copies of a 2-rank heat2d job (`spare run`) at once on
this machine, with ranks that poll while they wait for a neighbour
(OMPI_MCA_mpi_yield_when_idle=0, Open MPI's default when it does not know the
cores are shared) and with ranks that yield (Spare's default). The ratio is
each setting's mean wall time over one job alone with the same setting, run in
the same invocation.

    SPARE_BIN=build/bin/spare /usr/bin/python3 tests/bench/contention/contention_bench.py
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "e2e"))

from spare_testing import write_job  # noqa: E402

SPARE = os.environ.get("SPARE_BIN", "spare")


def run_at_once(job, tmp, copies, yield_when_idle):
    """Mean wall time of `copies` runs of `job` started together."""
    env = dict(os.environ, OMPI_MCA_mpi_yield_when_idle=yield_when_idle)
    started = time.monotonic()
    logs = [open(tmp / f"run-{k}.log", "w+") for k in range(copies)]
    running = [subprocess.Popen([SPARE, "run", str(job), "--output", str(tmp / f"out-{k}")],
                                stdout=subprocess.DEVNULL, stderr=log, env=env)
               for k, log in enumerate(logs)]
    running_from = list(running)
    times = []
    while running:
        for process in [p for p in running if p.poll() is not None]:
            times.append(time.monotonic() - started)
            running.remove(process)
            if process.returncode != 0:
                log = logs[running_from.index(process)]
                log.seek(0)
                sys.exit(f"spare run exited {process.returncode}:\n{log.read()[-4000:]}")
        time.sleep(0.05)
    for log in logs:
        log.close()
    for k in range(copies):
        shutil.rmtree(tmp / f"out-{k}", ignore_errors=True)
    return sum(times) / len(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=150000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spare-contention-bench-"))
    try:
        job = write_job(tmp / "job.ini",
                        job={"name": "shared", "kernel": "heat2d", "steps": str(args.steps),
                             "ranks": "2"},
                        checkpoint={"interval_steps": "0", "interval_seconds": "0", "keep": "1"},
                        heat2d={"nx": "384", "ny": "320", "init": "sine"})
        print(f"{os.cpu_count()} cores; heat2d 384 x 320, {args.steps} steps, 2 ranks a job")
        print("jobs at once | polling: s (x alone) | yielding: s (x alone)")
        alone = {}
        for copies in args.copies:
            cells = []
            for setting in ("0", "1"):
                seconds = run_at_once(job, tmp, copies, setting)
                alone.setdefault(setting, seconds)
                cells.append(f"{seconds:.1f} ({seconds / alone[setting]:.1f}x)")
            print(f"{copies} | {cells[0]} | {cells[1]}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
