"""Who holds a lease: ``host:pid:start`` names one process, so a restarted ferry on the same
machine can tell at once that a lease's holder is gone instead of waiting for the lease to lapse."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), telling a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{process_start(os.getpid()) or '-'}"


def is_dead_here(owner: str) -> bool:
    """True only when ``owner`` is a process of this machine that no longer runs; an owner on
    another machine, or one this platform cannot check, is left to its lease."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or start in {"", "-"}:
        return False
    if not Path("/proc/self/stat").exists():
        return False
    return process_start(int(pid_text)) != start
