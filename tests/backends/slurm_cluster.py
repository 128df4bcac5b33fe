"""A real Slurm on this machine for the backend's tests: Debian's slurmctld and
slurmd (slurm-wlm 22.05) started as root without systemd, with their own
ports, state, spool and log directories in a temporary directory, no munge
(AuthType=auth/none), and two partitions on the one node: `debug` and
`urgent`, whose jobs preempt debug's (partition priority, the user's signal
sent at preemption). Everything it started is killed and removed by close().

Where Slurm cannot start here (not root, not installed), SlurmUnavailable says
why, and exit_unless_available() exits 77: ctest shows the test as skipped.

    with SlurmCluster() as slurm:
        subprocess.run(["sinfo"], env=slurm.environment())
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKIP_RETURN_CODE = 77
PROGRAMS = ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "scontrol")


class SlurmUnavailable(Exception):
    pass


def check_available():
    if os.geteuid() != 0:
        raise SlurmUnavailable("the tests start slurmctld and slurmd as root; run them as root")
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        raise SlurmUnavailable(f"{', '.join(missing)} not found (apt-get install slurm-wlm)")


def exit_unless_available():
    try:
        check_available()
    except SlurmUnavailable as error:
        print(f"SKIPPED: Slurm unavailable: {error}", file=sys.stderr, flush=True)
        sys.exit(SKIP_RETURN_CODE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_with(variable, value):
    """Pids of the processes whose environment has variable=value: everything
    started under this Slurm (its daemons, slurmstepd, the jobs)."""
    needle = f"{variable}={value}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


class SlurmCluster:
    def __init__(self, cpus=2, grace_seconds=30):
        check_available()
        self.root = Path(tempfile.mkdtemp(prefix="spare-slurm-"))
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.processes = []
        try:
            self._write_config(cpus, grace_seconds)
            self._start()
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def environment(self):
        """The environment Slurm's commands (and `spare`) need to find it."""
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def run(self, *argv, check=True, timeout=30):
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=self.environment())
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)}: {done.returncode}\n{done.stdout}{done.stderr}")
        return done

    def _write_config(self, cpus, grace_seconds):
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir()
        r = self.root
        self.conf.write_text(f"""\
# A one-node Slurm for Spare's tests (tests/slurm/slurm_cluster.py).
ClusterName=spare-test
# By address: a fresh machine's own name may not resolve (no /etc/hosts line).
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/none
CredType=cred/none
# A requeued job waits this long before it starts again (120 s by default).
AuthInfo=cred_expire=10
SlurmUser=root
SlurmdUser=root
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
JobRequeue=1
# urgent's jobs preempt debug's; the preempted job's batch shell gets its
# --signal (B:USR1) at once and has GraceTime seconds to checkpoint.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime={grace_seconds}
PartitionName=urgent Nodes={self.node} MaxTime=INFINITE State=UP PriorityTier=10
""")

    def _daemon(self, argv, log):
        with open(self.root / "log" / log, "w") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                       env=self.environment(), start_new_session=True)
        self.processes.append(process)
        return process

    def _start(self):
        self._daemon(["slurmctld", "-D", "-i", "-f", str(self.conf)], "slurmctld.out")
        self._daemon(["slurmd", "-D", "-f", str(self.conf)], "slurmd.out")
        deadline = time.time() + 30
        while True:
            for process in self.processes:
                if process.poll() is not None:
                    raise SlurmUnavailable(f"{process.args[0]} exited ({process.returncode}): "
                                           f"{self.logs()}")
            state = self.run("sinfo", "-h", "-n", self.node, "-o", "%t", check=False)
            if state.returncode == 0 and state.stdout.split()[:1] == ["idle"]:
                return
            if time.time() > deadline:
                raise SlurmUnavailable(f"the node is not idle after 30 s ({state.stdout.strip()}"
                                       f"{state.stderr.strip()}): {self.logs()}")
            time.sleep(0.2)

    def logs(self):
        text = []
        for log in sorted((self.root / "log").iterdir()):
            text.append(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(text)

    def jobs(self):
        """squeue's view: {job id: (state, restarts)}."""
        import json
        answer = json.loads(self.run("squeue", "--json").stdout)
        return {str(j["job_id"]): (j["job_state"], j.get("restart_cnt", 0))
                for j in answer["jobs"]}

    def close(self):
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if self.processes:
            self.run("scancel", "--full", "--user=root", check=False)
        # Daemons, slurmstepd and what the jobs started: all carry our SLURM_CONF.
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            pids = processes_with("SLURM_CONF", str(self.conf))
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + wait
            while processes_with("SLURM_CONF", str(self.conf)) and time.time() < deadline:
                time.sleep(0.1)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if os.environ.get("SPARE_KEEP_LOGS"):
            print(f"Slurm's files kept in {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
