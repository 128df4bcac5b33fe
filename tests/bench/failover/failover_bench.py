"""Failover of a pool of replicas under a running job: `kill -9` of the
leading replica, ten times (each killed replica started again before the
next kill), on the laptop cluster with three etcd members and three replicas
(tests/cluster/replicated_pool.py; root and etcd-server). For each kill:

- *leader serves*: the kill → a replica answers the pool's API as the leader
  (asked directly, every 20 ms);
- *fenced write*: the kill → the new leader's first write to the records in
  etcd (a transaction fenced by its election key: the head's progress, which
  its relay sends once it has found the new leader), seen from etcd's
  revisions of the records' keys;
- *heartbeat*: the kill → the first volunteer heartbeat the new leader
  answered (its /metrics: spare_heartbeat_duration_seconds_count above 0; a
  replica that leads has never led before in its process, since each leader
  killed is started again);
and, for the whole run, the steps lost: the job never restarts, its one group
steps on (target 0). Target: median leader serves ≤ lease TTL + 1 s.

    sudo SPARE_BIN=build/bin/spare /usr/bin/python3 tests/bench/failover/failover_bench.py
"""

import argparse
import base64
import json
import ssl
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "cluster"))
sys.path.insert(0, str(HERE.parent.parent / "e2e"))

from pool_test_case import CHAOS_JOB  # noqa: E402
from replicated_pool import LEASE_TTL, ReplicatedPoolCluster  # noqa: E402
from spare_testing import write_job  # noqa: E402


def newest_record_revision(etcd_url, prefix="/spare/"):
    """The highest mod_revision among the pool's records (not its election keys)."""
    newest = 0
    for kind in ("volunteers/", "jobs/", "groups/", "events/"):
        key = prefix + kind
        end = key[:-1] + chr(ord(key[-1]) + 1)
        reply = etcd_call(etcd_url, "/v3/kv/range",
                          {"key": base64.b64encode(key.encode()).decode(),
                           "range_end": base64.b64encode(end.encode()).decode(),
                           "keys_only": True})
        for kv in reply.get("kvs", []):
            newest = max(newest, int(kv.get("mod_revision", 0)))
    return newest


def etcd_call(etcd_url, path, body):
    request = urllib.request.Request(etcd_url + path, data=json.dumps(body).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=2) as reply:
        return json.loads(reply.read())


def election_leader(etcd_url, prefix="/spare/"):
    """(the leader's election key, the store's revision now), or (None, revision)."""
    name = base64.b64encode((prefix + "leader").encode()).decode()
    try:
        reply = etcd_call(etcd_url, "/v3/election/leader", {"name": name})
    except urllib.error.HTTPError:
        return None, 0  # "no leader"
    return reply.get("kv", {}).get("key"), int(reply["header"]["revision"])


def heartbeats_answered(pool, k):
    """Heartbeats replica k answered as the leader since it started, from its
    /metrics; None if it does not answer as the leader."""
    status, _ = pool.answer(k, "/api/v1/pool", timeout=0.5)
    if status != 200:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(pool.replica_urls[k] + "/metrics",
                                     headers={"Authorization": f"Bearer {pool.operator_token}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=0.5) as reply:
            text = reply.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("spare_heartbeat_duration_seconds_count"):
            return int(float(line.split()[-1]))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spare-failover-bench-"))
    pool = ReplicatedPoolCluster(2, logs=tmp / "logs")
    try:
        pool.wait_for_volunteers(2)
        job_file = write_job(tmp / "job.ini", **{**CHAOS_JOB,
                                                 "job": {**CHAOS_JOB["job"], "steps": "100000000"}})
        job = pool.submit(job_file)
        pool.wait_until(job, lambda s: s["state"] == "running" and s["step"] > 0, what="running")
        etcd = pool.etcd.client_url(0)
        rows = []
        for kill in range(args.kills):
            time.sleep(2)  # the job steps a while under this leader
            old, epoch = pool.leader()
            old_key, _ = election_leader(etcd)
            killed = time.monotonic()
            pool.kill_replica(old)
            # A write after the election key changed hands is the new leader's
            # (one the old one had in flight lands before).
            handover = None
            serves = fenced = heartbeat = None
            while serves is None or fenced is None or heartbeat is None:
                now = time.monotonic() - killed
                if now > 60:
                    sys.exit(f"kill {kill + 1}: no new leader after 60 s; logs in {tmp}")
                for k in pool.replicas:
                    answered = heartbeats_answered(pool, k)
                    if answered is None:
                        continue
                    if serves is None:
                        serves = time.monotonic() - killed
                    if heartbeat is None and answered > 0:
                        heartbeat = time.monotonic() - killed
                if handover is None:
                    key, revision = election_leader(etcd)
                    if key is not None and key != old_key:
                        handover = revision
                if fenced is None and handover is not None and \
                        newest_record_revision(etcd) > handover:
                    fenced = time.monotonic() - killed
                time.sleep(0.02)
            rows.append((serves, fenced, heartbeat))
            print(f"kill {kill + 1}: replica {old} (epoch {epoch}): leader serves after "
                  f"{serves:.2f} s, first fenced write after {fenced:.2f} s, first heartbeat "
                  f"answered after {heartbeat:.2f} s", flush=True)
            pool.start_replica(old)
        status = pool.status(job)
        starts = [text for kind, text in pool.events(job) if kind == "start"]
        pool.spare("cancel", job)
        serves = [r[0] for r in rows]
        fenced = [r[1] for r in rows]
        beats = [r[2] for r in rows]
        print(f"\nlease TTL {LEASE_TTL} s, {len(rows)} kills of the leader under a running job")
        print(f"leader serves: median {statistics.median(serves):.2f} s, worst {max(serves):.2f} s "
              f"(target: median <= {LEASE_TTL + 1} s: "
              f"{'met' if statistics.median(serves) <= LEASE_TTL + 1 else 'missed'})")
        print(f"first fenced write: median {statistics.median(fenced):.2f} s, "
              f"worst {max(fenced):.2f} s")
        print(f"first heartbeat answered: median {statistics.median(beats):.2f} s, "
              f"worst {max(beats):.2f} s")
        print(f"the job: step {status['step']}, restarts {status['restarts']}, "
              f"groups started {len(starts)} (steps lost: "
              f"{'0' if status['restarts'] == 0 and len(starts) == 1 else 'some'})")
    finally:
        pool.close()


if __name__ == "__main__":
    main()
