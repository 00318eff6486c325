"""Loopback ports for servers that start later (tests, benches, CI's fresh clone).

Asking the kernel for port 0 and closing the socket hands back a port from the ephemeral range, which the
kernel may give again at any moment as the source port of an outgoing connection (to PostgreSQL, Redis, the
sandbox); a server then binding it fails with "Address already in use". So ports are drawn below that
range, where the kernel never assigns one by itself, and each is handed out once per process.
"""
from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000
_handed_out: set[int] = set()
_random = random.SystemRandom()  # from the OS: forked processes do not repeat each other's draws


def _ephemeral_start() -> int:
    """The first port the kernel may assign on its own (Linux's default when the file cannot be read)."""
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on, outside the kernel's ephemeral range, not given before."""
    top = max(_ephemeral_start(), _LOWEST + 1000)
    for _ in range(1000):
        port = _random.randrange(_LOWEST, top)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")
