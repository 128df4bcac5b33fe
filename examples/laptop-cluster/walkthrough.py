"""A volunteer pool on four simulated laptops, on this machine: watch a job
survive laptops dying. Run as root with Debian's python3, from anywhere:

    sudo /usr/bin/python3 examples/laptop-cluster/walkthrough.py

It starts a coordinator and four laptops (network namespaces with their own
address and private storage; tests/cluster/), submits examples/heat2d.ini
(smaller), kills one laptop, then another, waits for the job to finish on
the laptops left, fetches the result and compares it, bit for bit, with a
failure-free `spare run` of the same job. Everything is removed at the end.
Exits 0 if the results are bit-identical, 1 if not, and 77 if this machine
cannot build the laptop cluster (not root, or no network namespaces): CTest
runs it as `cluster.walkthrough`."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("SPARE_BIN", str(ROOT / "build" / "bin" / "spare"))

from laptop_cluster import ClusterUnavailable  # noqa: E402
from pool_cluster import SPARE, PoolCluster  # noqa: E402
from spare_testing import result_digest  # noqa: E402

OVERRIDES = ["--set", "heat2d.nx=256", "--set", "heat2d.ny=256", "--set", "job.steps=4000",
             "--set", "checkpoint.interval_steps=250", "--set", "job.ranks=auto"]


def say(text):
    print(f"[walkthrough] {text}", flush=True)


def show_status(pool, job):
    status = pool.status(job)
    say(f"job {job}: {status['state']}, step {status['step']}/{status['steps']}, "
        f"{status['ranks']} ranks on {', '.join(status['volunteers']) or '-'}; "
        f"restarts {status['restarts']}; pool holds step {status['checkpoint']}")
    return status


def main():
    parser = argparse.ArgumentParser(description="a job surviving laptops dying")
    parser.add_argument("--laptops", type=int, default=4)
    parser.add_argument("--watch", type=float, default=0, metavar="SECONDS",
                        help="time to open the dashboard before the first laptop dies, and "
                             "to look at it once the job is done")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spare-walkthrough-"))
    same = False
    job_file = ROOT / "examples" / "heat2d.ini"
    try:
        pool = PoolCluster(args.laptops, logs=work / "logs")
    except ClusterUnavailable as error:
        print(f"cannot build the laptop cluster: {error}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
        return 77
    with pool:
        say(f"coordinator at {pool.url}, {args.laptops} laptops on {pool.cluster.subnet}; "
            f"logs in {work / 'logs'}")
        pool.wait_for_volunteers(args.laptops)
        job = int(pool.spare("submit", job_file, *OVERRIDES).stdout)
        say(f"submitted {job_file.name} as job {job}")
        say(f"the dashboard: {pool.url}/ in a browser on this machine (its certificate's "
            f"fingerprint is {pool.fingerprint}); sign in with the operator's token "
            f"{pool.operator_token}")
        time.sleep(args.watch)
        for victim_number in (1, 2):
            status = pool.wait_until(
                job, lambda s: s["state"] == "running" and (s["checkpoint"] or 0) > 0
                and s["step"] > (s["checkpoint"] or 0), what="running")
            show_status(pool, job)
            name = status["volunteers"][-1]
            laptop = next(k for k in pool.cluster.laptops
                          if name.startswith(pool.cluster.laptop(k).netns + "@"))
            say(f"killing every process of laptop {laptop} ({name})")
            pool.kill_laptop(laptop)
            time.sleep(1)
            show_status(pool, job)
        pool.wait_done(job)
        show_status(pool, job)
        time.sleep(args.watch)
        print(pool.spare("logs", job).stdout, flush=True)
        result = pool.fetch(job, work / "pool-result")
        say(f"fetched {result / 'result.h5'}; now the same job with spare run, no failures")
        subprocess.run([SPARE, "run", job_file, *OVERRIDES, "--output", work / "local"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        same = result_digest(result) == result_digest(work / "local")
        say("the pool's result and the failure-free local run are "
            + ("bit-identical" if same else "DIFFERENT"))
    if same:
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"the logs are kept in {work / 'logs'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
