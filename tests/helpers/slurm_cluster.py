"""A private single-node SLURM cluster for the tests: munged, slurmctld and slurmd from the
system's packages (Debian: munge, slurmctld, slurmd, slurm-client), with every file (key, socket,
state, spool, logs) in one temporary folder and free ports, started as child processes of the
test and stopped by it. ``start`` skips the test, with the reason, when it cannot start."""

import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
NODE = "bm3dnode"
PACKAGES_HINT = (
    "install Debian's munge, slurmctld, slurmd and slurm-client "
    "(python3 build.py slurm-packages, as root)"
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, folder):
        self.folder = str(folder)
        self.processes = []
        self.conf = os.path.join(self.folder, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def path(self, name):
        return os.path.join(self.folder, name)

    def _write_config(self):
        host = socket.gethostname().split(".")[0]
        cpus = os.cpu_count() or 1
        for name in ("state", "spool", "munge"):
            os.makedirs(self.path(name), mode=0o700, exist_ok=True)
        key = self.path("munge/munge.key")
        with open(key, "wb") as handle:
            handle.write(os.urandom(1024))
        os.chmod(key, 0o400)
        text = f"""\
ClusterName=bm3dtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={self.path("munge/munge.socket")}
StateSaveLocation={self.path("state")}
SlurmdSpoolDir={self.path("spool")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.pid")}
SlurmctldLogFile={self.path("slurmctld.log")}
SlurmdLogFile={self.path("slurmd.log")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MpiDefault=none
ReturnToService=2
KillWait=5
InactiveLimit=0
MinJobAge=600
NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=batch Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.conf, "w") as handle:
            handle.write(text)

    def _spawn(self, name, command):
        log = open(self.path(f"{name}.stdout"), "w")
        process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append((name, process))
        return process

    def start(self):
        missing = [d for d in PROGRAMS if shutil.which(d) is None]
        if missing:
            pytest.skip(f"no SLURM here ({', '.join(missing)} missing): {PACKAGES_HINT}")
        if os.geteuid() != 0:
            pytest.skip("the test cluster runs slurmd as root (as CI does); not root here")
        self._write_config()
        self._spawn("munged", ["munged", "-F", "--force",
                               f"--key-file={self.path('munge/munge.key')}",
                               f"--socket={self.path('munge/munge.socket')}",
                               f"--pid-file={self.path('munge/munged.pid')}",
                               f"--log-file={self.path('munge/munged.log')}",
                               f"--seed-file={self.path('munge/munged.seed')}"])  # fmt: skip
        self._wait_for(lambda: os.path.exists(self.path("munge/munge.socket")), "munged")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
        self._spawn("slurmd", ["slurmd", "-D", "-N", NODE, "-f", self.conf])
        self._wait_for(self._node_ready, "the node to be idle")
        return self

    def _node_ready(self):
        done = self.command("sinfo", "-h", "-n", NODE, "-o", "%t", check=False)
        return done.returncode == 0 and done.stdout.strip() in ("idle", "mix", "alloc")

    def _wait_for(self, ready, what, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            dead = [name for name, p in self.processes if p.poll() is not None]
            if dead:
                self.stop()
                pytest.skip(f"{dead[0]} exited at start: {self.log_tail(dead[0])}")
            if ready():
                return
            time.sleep(0.5)
        logs = " | ".join(self.log_tail(n) for n, _ in self.processes)
        self.stop()
        pytest.skip(f"the test cluster did not start ({what} not ready in {timeout} s): {logs}")

    def log_tail(self, name, lines=5):
        for candidate in (f"{name}.log", f"munge/{name}.log", f"{name}.stdout"):
            path = self.path(candidate)
            if os.path.exists(path) and os.path.getsize(path):
                with open(path, errors="replace") as handle:
                    return f"{name}: " + " / ".join(handle.read().splitlines()[-lines:])
        return f"{name}: (no log)"

    def command(self, *words, check=True, timeout=60):
        done = subprocess.run(list(words), env=self.env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"{words[0]} failed: {done.stderr.strip()}")
        return done

    def states(self, job):
        """{job id as squeue shows it (123_1, 124): state} of ``job``'s tasks still known."""
        done = self.command("squeue", "-h", "-r", "-j", str(job), "-o", "%i %T", check=False)
        return dict(line.split() for line in done.stdout.splitlines() if line.strip())

    def wait_gone(self, *jobs, timeout=900):
        """Until none of ``jobs`` is pending or running."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not any(self.states(job) for job in jobs):
                return
            time.sleep(1)
        raise AssertionError(f"jobs {jobs} still queued after {timeout} s: {self.states(jobs[0])}")

    def stop(self):
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)
            if process.poll() is None:
                process.kill()
                process.wait()
        self.processes = []
