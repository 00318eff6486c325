"""The benches' HTTP half: gunicorn with the Procfile's settings on a free loopback port, keep-alive
clients, the closed-loop load generator, and what a load measured (latency, throughput, errors, and the
CPU of this load generator, of the server's workers and of the whole machine).

The load generator is Python (threads, http.client keep-alive) and shares the machine's cores with the
server: hence the CPU figures next to every load.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from bench.harness import ROOT, Dist, Progress, free_port, machine_jiffies, proc_cpu
from tests import wire  # WeChat's wire format, shared with the tests: the readiness probe

GUNICORN_ARGS = ["--config", "ops/gunicorn.py", "--workers", "2", "--threads", "8", "--timeout", "30"]  # the Procfile's
# gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl, one path shared by every gunicorn of the
# user: the bench's servers go without it so they never disturb another one (serving is unaffected).
GUNICORN_EXTRA = ["--no-control-socket"]

# One request of a load: (due, sent, answered) perf_counter times and what went wrong (None: answered right).
Record = tuple[float, float, float, str | None]


class Gunicorn:
    """gunicorn as a subprocess on a free loopback port; stopped by its own pid (SIGTERM, then SIGKILL).
    Ready once every worker booted and `GET /wechat?echostr=` (WeChat's URL check, signed with
    BOT_WECHAT_TOKEN) echoes: every app a bench serves answers it."""

    def __init__(self, target: str, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.target, self.log_path, self.workers_count = target, log_path, workers
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        self.env = {**base, **env, "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> Gunicorn:
        args = list(GUNICORN_ARGS)
        args[args.index("--workers") + 1] = str(self.workers_count)
        cmd = [sys.executable, "-m", "gunicorn", *args, *GUNICORN_EXTRA,
               "--bind", f"127.0.0.1:{self.port}", self.target]
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            return self._wait_ready(timeout)
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ fails
            raise

    def _wait_ready(self, timeout: float) -> Gunicorn:
        workers = self.workers_count
        deadline = time.monotonic() + timeout
        query = urlencode({**wire.signed_query(self.env["BOT_WECHAT_TOKEN"]), "echostr": "ready"})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            booted = self.log_path.read_text(errors="replace").count("Booting worker")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", f"/wechat?{query}")
                answer = conn.getresponse().read()
                conn.close()
                if answer == b"ready" and booted >= workers:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except (OSError, ValueError, AttributeError):
            return []

    def cpu(self) -> float:
        return sum(proc_cpu(pid) for pid in self.workers())

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def problems(self) -> Counter:
        """Errors the server logged: gunicorn's own and the app's JSON lines."""
        found: Counter = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if '"level": "error"' in line or "[ERROR]" in line or "[CRITICAL]" in line:
                found["error"] += 1
            elif '"level": "warning"' in line or "[WARNING]" in line:
                found["warning"] += 1
            if "WORKER TIMEOUT" in line:
                found["worker timeout"] += 1
        return found

    def stop(self) -> None:
        if self.proc is None:
            return
        workers = self.workers()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        bind = f"127.0.0.1:{self.port}".encode()
        for pid in workers:  # a worker outliving its master (should not happen): end it by its own pid
            with contextlib.suppress(OSError):
                if bind in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
        self.proc = None
        self.log.close()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Client:
    """One keep-alive connection. A reused connection the server closed while idle is reopened once."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False
        self.reconnects = 0

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.reused = False
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                else:
                    self.reused = True
                return response.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                stale = self.reused
                self.close()
                if attempt == 0 and stale:
                    self.reconnects += 1
                    continue
                raise
        raise AssertionError("unreachable")

    def attempt(self, path: str, body: bytes, headers: Mapping[str, str], expect: int,
                right: Callable[[bytes], bool] = lambda data: True) -> str | None:
        """One request of a load: None when answered `expect` with a `right` body, else what went wrong.
        A failure is counted, not raised: the load goes on."""
        try:
            status, data = self.post(path, body, headers)
        except Exception as exc:  # timeouts, refused, reset
            self.close()
            return type(exc).__name__
        if status != expect:
            return f"HTTP {status}"
        return None if right(data) else "wrong reply"

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class LoadResult:
    mode: str  # "open" | "closed"
    offered: float  # messages/s (open loop), clients (closed loop)
    sent: int
    ok: int
    errors: Counter
    latency: Dist  # from the scheduled send time (open) or the send (closed), answered requests
    service: Dist  # from the actual send
    seconds: float  # from the start to the last answer
    wall: float  # from the start until every client was done: the CPU shares are over this time
    client_cpu: float  # share of one core
    server_cpu: float  # share of one core, both workers
    machine_busy: float  # share of all cores: server, client, PostgreSQL, Redis, everything
    reconnects: int
    capped: bool = False  # closed loop: every request prepared was sent before the time was up

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


CpuCounters = tuple[float, float, tuple[int, int]]


def cpu_counters(server: Gunicorn) -> CpuCounters:
    """CPU time so far of this process, of the server's workers and of the whole machine."""
    return time.process_time(), server.cpu(), machine_jiffies()


def load_result(mode: str, offered: float, records: list[Record | None], pool: list[Client], t0: float,
                wall: float, before: CpuCounters, server: Gunicorn) -> LoadResult:
    """What a load measured, from its records (None: not answered) and the CPU counters at its start."""
    cpu0, scpu0, (busy0, total0) = before
    busy1, total1 = machine_jiffies()
    done = [r for r in records if r is not None]
    errors = Counter(r[3] for r in done if r[3] is not None)
    errors["not answered"] += len(records) - len(done) if mode == "open" else 0
    errors = +errors
    ok = [r for r in done if r[3] is None]
    seconds = (max(r[2] for r in done) - t0) if done else wall
    return LoadResult(
        mode, offered, len(done), len(ok), errors,
        Dist.of([r[2] - r[0] for r in ok]), Dist.of([r[2] - r[1] for r in ok]), seconds, wall,
        (time.process_time() - cpu0) / wall, (server.cpu() - scpu0) / wall,
        (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan"),
        sum(c.reconnects for c in pool),
    )


def closed_loop(port: int, count: int, send: Callable[[Client, int], str | None], clients: int, label: str,
                server: Gunicorn, *, seconds: float | None = None, poll: float = 0.05,
                quiet: bool = False) -> LoadResult:
    """`clients` threads, each sending its next request as soon as its last one is answered: request i is
    `send(client, i)` (None when answered right, else what went wrong), until all `count` were sent or,
    given `seconds`, that long has passed. The progress line and the end are checked every `poll` s."""
    index = itertools.count()
    records: list[Record | None] = [None] * count
    pool = [Client(port) for _ in range(clients)]
    before = cpu_counters(server)
    t0 = time.perf_counter()
    stop = math.inf if seconds is None else t0 + seconds
    give_up = t0 + 120 if seconds is None else stop + 30  # bounded: 10 s client timeouts cannot hold it longer

    def work(client: Client) -> None:
        while time.perf_counter() < stop and (i := next(index)) < count:
            started = time.perf_counter()
            error = send(client, i)
            records[i] = (started, started, time.perf_counter(), error)
        client.close()

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in pool]
    for t in threads:
        t.start()
    show = _progress(label, count, seconds, t0, records)
    while any(t.is_alive() for t in threads) and time.perf_counter() < give_up:
        time.sleep(poll)
        if not quiet:
            show()
    for t in threads:
        t.join(timeout=1)
    wall = time.perf_counter() - t0
    result = load_result("closed", clients, records, pool, t0, wall, before, server)
    result.capped = next(index) >= count
    return result


def _progress(label: str, count: int, seconds: float | None, t0: float,
              records: list[Record | None]) -> Callable[[], None]:
    """The progress line of a closed loop: answers so far out of `count`, or seconds out of `seconds`."""
    def answered() -> int:
        return sum(r is not None for r in records)

    if seconds is None:
        progress = Progress(label, count)
        return lambda: progress.update(answered())
    progress = Progress(label, int(seconds))
    return lambda: progress.update(min(int(seconds), int(time.perf_counter() - t0)), f"s, {answered()} answered")
