"""The tools under comparison, how each is invoked, and one measured run of a process.

Why one module: the fairness of the comparison lives in these command lines (same source, same
kind of destination, same repository layout, digests preserved), so they sit side by side.

Layouts: ``ferry sync SRC/bench DEST/mirror --flatten 1`` maps ``bench/app1`` to ``mirror/app1``;
``skopeo sync`` (without ``--scoped``) maps each source repository to ``DEST/<last component>``,
which is the same ``mirror/app1``. Both therefore write exactly the same destination repositories.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from benchmarks.workloads import NAMESPACE, Workload

ROOT = Path(__file__).resolve().parent.parent
FERRY = str(ROOT / ".venv" / "bin" / "ferry")
SKOPEO = "skopeo"
TIME = "/usr/bin/time"
DEST_NAMESPACE = "mirror"
#: Bytecode cache for the tools' Python. This sandbox sets PYTHONDONTWRITEBYTECODE, so a ferry edited
#: since its last compile would recompile modules on every start; an installed ferry has its
#: bytecode compiled once, so the benchmark gives it a persistent cache of its own, outside src/.
PYCACHE = ROOT / ".work" / "bench-pycache"


class ToolKind(StrEnum):
    FERRY = "ferry"
    SKOPEO = "skopeo"


@dataclass(frozen=True)
class Tool:
    """A contender: ferry (optionally with a tuned ``-j``) or skopeo."""

    kind: ToolKind
    concurrency: int | None = None

    @property
    def name(self) -> str:
        return f"{self.kind.value} -j{self.concurrency}" if self.concurrency else self.kind.value

    def sync_command(self, source_host: str, dest_host: str, scratch: Path, workload: Workload) -> list[str]:
        """Replicate every repository of the workload from ``source_host`` to ``dest_host``."""
        if self.kind is ToolKind.FERRY:
            command = [FERRY, "sync", f"{source_host}/{NAMESPACE}", f"{dest_host}/{DEST_NAMESPACE}"]
            return [*command, "--flatten", "1", "--json", *self._jobs()]
        # One process for all repositories: the YAML source. An empty tag list means every tag.
        listing = scratch / "skopeo-sync.yaml"
        lines = [f'"{source_host}":', "  tls-verify: false", "  images:"]
        lines += [f"    {NAMESPACE}/{repository}: []" for repository in workload.repositories]
        listing.write_text("\n".join(lines) + "\n")
        return [
            *_skopeo_base(scratch),
            "sync",
            "--all",
            "--preserve-digests",
            "--src",
            "yaml",
            "--dest",
            "docker",
            "--dest-tls-verify=false",
            str(listing),
            f"{dest_host}/{DEST_NAMESPACE}",
        ]

    def copy_command(self, source: str, destination: str, scratch: Path) -> list[str]:
        """Copy one image (``host/repo:tag`` on both sides), digest preserved."""
        if self.kind is ToolKind.FERRY:
            return [FERRY, "copy", source, destination, "--json", *self._jobs()]
        return [
            *_skopeo_base(scratch),
            "copy",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{source}",
            f"docker://{destination}",
        ]

    def _jobs(self) -> list[str]:
        return ["--concurrency", str(self.concurrency)] if self.concurrency else []


def _skopeo_base(scratch: Path) -> list[str]:
    # An explicit accept-anything policy, so the host's /etc/containers/policy.json cannot interfere.
    policy = scratch / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    return [SKOPEO, "--policy", str(policy)]


@dataclass(frozen=True)
class ProcessRun:
    """One measured process: wall time from spawn to exit, peak RSS, and its output."""

    command: list[str]
    started: float  # time.monotonic() at spawn
    seconds: float
    peak_rss_bytes: int
    cpu_seconds: float  # user + system
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    def json_summary(self) -> dict[str, object] | None:
        """ferry's ``--json`` summary, when the output is one."""
        try:
            parsed = json.loads(self.stdout)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


def tool_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def cpu_busy(interval: float = 1.0) -> float:
    """Share of all CPUs busy over ``interval`` (from /proc/stat), whoever is using them."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    busy1, total1 = sample()
    time.sleep(interval)
    busy2, total2 = sample()
    return (busy2 - busy1) / max(1, total2 - total1)


def wait_for_quiet(max_busy: float, timeout: float) -> float:
    """Wait until other work leaves the CPUs mostly idle (this 2-core box is shared); returns the share.

    Timings taken while something else saturates the cores measure that something else.
    """
    deadline = time.monotonic() + timeout
    while True:
        busy = cpu_busy()
        if busy <= max_busy or time.monotonic() >= deadline:
            return busy


def run_measured(command: list[str], *, timeout: float = 1800) -> ProcessRun:
    """Run ``command`` under ``/usr/bin/time`` (peak RSS of exactly that process) and time it.

    The process gets its own session so that Ctrl-C or a timeout ends it and anything it spawned,
    by process group id, and never leaves a tool running behind the benchmark.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        wrapped = [TIME, "-f", "%M %U %S", "-o", report.name, *command]
        started = time.monotonic()
        process = subprocess.Popen(
            wrapped,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env=tool_environment(),
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            _end_group(process)
            raise
        seconds = time.monotonic() - started
        rss_kib, cpu = _time_report(Path(report.name).read_text())
    return ProcessRun(command, started, seconds, rss_kib * 1024, cpu, process.returncode, stdout, stderr)


def _end_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _time_report(text: str) -> tuple[int, float]:
    """Peak RSS (KiB) and user + system seconds from ``/usr/bin/time -f "%M %U %S"``."""
    # /usr/bin/time prefixes "Command exited with non-zero status N" when the tool fails.
    for line in reversed(text.strip().splitlines()):
        fields = line.split()
        if len(fields) == 3 and fields[0].isdigit():
            return int(fields[0]), float(fields[1]) + float(fields[2])
    return 0, 0.0


def version_of(command: list[str]) -> str:
    """First line of a ``--version`` style command, or what went wrong."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def ferry_revision() -> str:
    """The commit of the checkout, ``-dirty`` when ferry's code differs from it: which ferry ran.

    Why per trial: ferry is developed while the benchmark runs; a run that mixes revisions must
    say so rather than average them. Only the code that runs counts (``src/``, ``pyproject.toml``):
    editing the docs during a run changes no figure.
    """
    commit = _git("rev-parse", "--short", "HEAD")
    if not commit:
        return "?"
    changed = _git("status", "--porcelain", "--", "src", "pyproject.toml")
    return f"{commit}-dirty" if changed else commit


def _git(*args: str) -> str:
    """What ``git`` prints for ``args`` in the checkout, stripped ("" when git fails)."""
    out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    return out.stdout.strip()
