"""A PostgreSQL and a Redis of the bench's own, on free loopback ports in a temporary folder, so that a
fault bench can kill and restart them by their pids without touching the machine's shared servers.

PostgreSQL: `initdb` into the folder and `pg_ctl` on a free port (as the `postgres` user when run as
root, since initdb refuses root). The binaries: `--pg-bin`, else the newest /usr/lib/postgresql/*/bin
(Debian's layout), else PATH. Redis: `redis-server` with no persistence.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.harness import free_port


def pg_bin(given: str = "") -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    folder = given or (found[-1] if found else str(Path(shutil.which("initdb") or "initdb").parent))
    if not (Path(folder) / "initdb").exists():
        raise SystemExit(f"no initdb in {folder}: install PostgreSQL or pass --pg-bin")
    return Path(folder)


class OwnPostgres:
    """One PostgreSQL cluster in `folder`: start, restart (fast shutdown), stop; `pid` is its postmaster."""

    def __init__(self, folder: Path, binaries: Path) -> None:
        self.folder, self.bin = folder, binaries
        self.data, self.log = folder / "pgdata", folder / "postgres.log"
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/bench_load"

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self._as, *args], check=True, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def start(self) -> OwnPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as:  # the cluster's files belong to the user that runs it
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        self._ctl("start")
        return self

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
        self._run(str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, *extra)

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w", timeout=60)


class OwnRedis:
    """redis-server on a free port, no persistence: `kill` (SIGKILL by its pid) and `start` again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> OwnRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        import redis

        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(redis.RedisError):
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return self
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    stop = kill
