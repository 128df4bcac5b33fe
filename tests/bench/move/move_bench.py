"""How long `spare move` takes for a job with a 1 GiB checkpoint (heat2d on a
11586 x 11586 grid, two ranks), from this machine to a Slurm cluster started
here (tests/backends/slurm_cluster.py; root and slurm-wlm), then from Slurm to
a volunteer pool on loopback (tests/backends/loopback_pool.py): the drain (the
ranks checkpoint at their next step and stop), the copy (the newest checkpoint
to a staging directory, then into the Slurm job's directory, or uploaded to
the pool over HTTPS, every digest verified where it arrived) and the
submission, and the start (until the ranks there have restored and verified
the checkpoint and step).

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

from loopback_pool import LoopbackPool  # noqa: E402
from slurm_cluster import SlurmCluster  # noqa: E402
from spare_testing import write_job  # noqa: E402

SPARE = os.environ.get("SPARE_BIN", "spare")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=11586, help="grid points a side")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spare-move-bench-"))
    pool = None
    try:
        with SlurmCluster() as slurm:
            pool = LoopbackPool(SPARE, tmp)
            pool.add_volunteer(cpus=2)
            backends = tmp / "backends.ini"
            backends.write_text(f"[laptop]\ntype = local\n[cluster]\ntype = slurm\n"
                                f"partition = debug\nntasks = 2\nworkdir = {tmp}/scratch\n"
                                f"poll_seconds = 1\n" + pool.section())
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
            print(f"checkpoint {checkpoint.group(1)}, written in {checkpoint.group(2)} s")
            print(f"here -> Slurm: drain {float(times.group(1)):.1f} s (signal to the ranks "
                  f"stopped), copy + verify + sbatch {float(times.group(2)):.1f} s, "
                  f"start on Slurm {resumed_at - moved_at:.1f} s, "
                  f"total {resumed_at - started:.1f} s")

            time.sleep(3)  # some steps there
            started = time.time()
            moved = spare("move", there, "--to", "lab")
            moved_at = time.time()
            on_pool = moved.stdout.strip()
            times = re.search(r"drain ([\d.]+) s, copy and submit ([\d.]+) s", moved.stderr)
            while not re.search(r"started at step [1-9]", spare("logs", on_pool).stdout):
                time.sleep(0.2)
            resumed_at = time.time()
            spare("cancel", on_pool)
            print(f"Slurm -> pool: drain {float(times.group(1)):.1f} s, copy + upload + verify "
                  f"{float(times.group(2)):.1f} s, start on the pool (a volunteer fetches and "
                  f"restores it) {resumed_at - moved_at:.1f} s, "
                  f"total {resumed_at - started:.1f} s")
    finally:
        if pool is not None:
            pool.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
