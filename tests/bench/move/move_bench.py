"""How long `spare move` takes for a job with a 1 GiB checkpoint (heat2d on a
11586 x 11586 grid, two ranks), from this machine to a Slurm cluster started
here (tests/backends/slurm_cluster.py; root and slurm-wlm): the drain (the
ranks checkpoint at their next step and stop), the copy (the newest checkpoint
to a staging directory, then into the Slurm job's directory, every digest
verified there) and sbatch, and the start (until the ranks on Slurm have
restored and verified the checkpoint and report their first step).

    sudo SPARE_BIN=build/bin/spare /usr/bin/python3 tests/bench/move/move_bench.py
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "backends"))
sys.path.insert(0, str(HERE.parent.parent / "e2e"))

from slurm_cluster import SlurmCluster  # noqa: E402
from spare_testing import write_job  # noqa: E402

SPARE = os.environ.get("SPARE_BIN", "spare")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=11586, help="grid points a side")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spare-move-bench-"))
    try:
        with SlurmCluster() as slurm:
            backends = tmp / "backends.ini"
            backends.write_text(f"[laptop]\ntype = local\n[cluster]\ntype = slurm\n"
                                f"partition = debug\nntasks = 2\nworkdir = {tmp}/scratch\n"
                                f"poll_seconds = 1\n")
            env = dict(slurm.environment(), SPARE_BACKENDS=str(backends),
                       SPARE_JOBS_DB=str(tmp / "client" / "jobs.db"))

            def spare(*argv):
                done = subprocess.run([SPARE, *map(str, argv)], capture_output=True, text=True,
                                      env=env, cwd=tmp, timeout=1800)
                if done.returncode != 0:
                    sys.exit(f"spare {' '.join(map(str, argv))}: {done.returncode}\n"
                             f"{done.stdout}{done.stderr}")
                return done

            job = write_job(tmp / "job.ini", job={"name": "big", "kernel": "heat2d",
                                                  "steps": "100000", "ranks": "2",
                                                  "output": str(tmp / "here")},
                            checkpoint={"interval_steps": "0", "interval_seconds": "0",
                                        "keep": "1"},
                            heat2d={"nx": str(args.points), "ny": str(args.points),
                                    "init": "sine"})
            here = spare("submit", job, "--to", "laptop").stdout.strip()
            while not re.search(r"ranks started", spare("logs", here).stdout):
                time.sleep(0.5)
            time.sleep(3)  # some steps
            started = time.time()
            moved = spare("move", here, "--to", "cluster")
            moved_at = time.time()
            there = moved.stdout.strip()
            times = re.search(r"drain ([\d.]+) s, copy and submit ([\d.]+) s", moved.stderr)
            checkpoint = re.search(r"checkpoint at step \d+: ([\d.]+ \w+) in ([\d.]+) s",
                                   spare("logs", here).stdout)
            while not re.search(r"resumed from the checkpoint", spare("logs", there).stdout):
                time.sleep(0.2)
            resumed_at = time.time()
            spare("cancel", there)
            print(f"checkpoint {checkpoint.group(1)}, written in {checkpoint.group(2)} s")
            print(f"drain {float(times.group(1)):.1f} s (signal to the ranks stopped), "
                  f"copy + verify + sbatch {float(times.group(2)):.1f} s, "
                  f"start on Slurm {resumed_at - moved_at:.1f} s, "
                  f"total {resumed_at - started:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
