"""One tool against one fresh destination: the measured cold sync, the check, the no-op re-sync.

Why a fresh, empty destination registry (and a fresh link emulator) per trial: a cold sync is only
cold if nothing is there yet, and the emulator's counters then belong to exactly one tool. The
source registry is shared by every trial of a workload; it is only read.
"""

from __future__ import annotations

import dataclasses
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.registry import RegistryServer, start_registry

from benchmarks.linkemu import BackgroundLinkEmulator, LinkConfig, LinkStats
from benchmarks.tools import (
    DEST_NAMESPACE,
    ProcessRun,
    Tool,
    ferry_revision,
    run_measured,
    wait_for_quiet,
)
from benchmarks.verify import check_registry
from benchmarks.workloads import NAMESPACE, Workload


@dataclass(frozen=True)
class Phase:
    """One invocation of a tool; the link figures are ``None`` on plain loopback."""

    seconds: float
    peak_rss_bytes: int
    returncode: int
    cpu_seconds: float = 0.0
    bytes_sent: int | None = None
    bytes_received: int | None = None
    connections: int | None = None
    max_open: int | None = None
    requests: dict[str, int] | None = None  # HTTP requests to the destination, by method
    link_busy_seconds: float | None = None
    first_byte_after: float | None = None
    last_byte_before_exit: float | None = None
    summary: dict[str, object] | None = None
    error: str = ""
    cpu_busy_before: float | None = None  # share of the CPUs others used just before the run

    @classmethod
    def of(cls, run: ProcessRun, link: LinkStats | None = None) -> Phase:
        summary = run.json_summary()
        if summary is not None:
            failed = [i for i in _list(summary.get("images")) if i.get("outcome") == "failed"]
            summary = {key: value for key, value in summary.items() if key != "images"}
            summary["failed_images"] = failed[:10]
        busy, first, last = (None, None, None) if link is None else link.busy_between(run.started, run.ended)
        return cls(
            seconds=run.seconds,
            peak_rss_bytes=run.peak_rss_bytes,
            returncode=run.returncode,
            cpu_seconds=run.cpu_seconds,
            bytes_sent=link.bytes_up if link else None,
            bytes_received=link.bytes_down if link else None,
            connections=link.connections if link else None,
            max_open=link.max_open if link else None,
            requests=link.requests_by_method() if link else None,
            link_busy_seconds=busy,
            first_byte_after=first - run.started if first is not None else None,
            last_byte_before_exit=run.ended - last if last is not None else None,
            summary=summary,
            error="" if run.ok else (run.stderr.strip()[-3000:] or run.stdout.strip()[-3000:]),
        )


def _list(value: object) -> list[dict[str, object]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Trial:
    """A tool's cold sync (and no-op re-sync) in one round, with every correctness problem found."""

    tool: str
    round: int
    cold: Phase
    noop: Phase | None
    problems: list[str] = field(default_factory=list)
    revision: str = ""  # ferry's git revision when the trial started

    @property
    def ok(self) -> bool:
        return self.cold.returncode == 0 and not self.problems


@dataclass(frozen=True)
class TrialSettings:
    """How trials run: the emulated link, and how quiet the shared machine must be before timing."""

    workdir: Path
    link: LinkConfig
    max_cpu_busy: float = 0.3
    quiet_timeout: float = 90.0
    trace_dir: Path | None = None


def _measure(
    command: list[str],
    settings: TrialSettings,
    emulator: BackgroundLinkEmulator | None,
    trace_name: str,
) -> Phase:
    busy = wait_for_quiet(settings.max_cpu_busy, settings.quiet_timeout)
    before = emulator.stats() if emulator else None
    run = run_measured(command)
    link = emulator.stats().since(before) if emulator and before else None
    if link is not None and settings.trace_dir is not None:
        _write_trace(settings.trace_dir / f"{trace_name}.txt", run, link)
    return dataclasses.replace(Phase.of(run, link), cpu_busy_before=busy)


def _write_trace(path: Path, run: ProcessRun, link: LinkStats) -> None:
    """Every request the tool sent to the destination, in seconds since the process started.

    Why: the tables say how long a sync took; this says what the tool was doing meanwhile
    (start-up before the first request, round trips in series, idle gaps, the tail).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {' '.join(run.command)}", f"# wall {run.seconds:.3f} s, exit {run.returncode}"]
    lines += [f"{r.at - run.started:8.3f}  conn {r.connection:4d}  {r.line}" for r in link.requests]
    lines += ["", "# up-link busy per 250 ms since process start (% of the slot)"]
    slot = 0.25
    for index in range(int(run.seconds / slot) + 1):
        start = run.started + index * slot
        busy, _, _ = link.busy_between(start, start + slot)
        lines.append(f"{index * slot:8.2f}  {busy / slot * 100:5.1f}%  {'#' * round(busy / slot * 40)}")
    path.write_text("\n".join(lines) + "\n")


def sync_trial(
    tool: Tool, source: RegistryServer, workload: Workload, settings: TrialSettings, round_number: int
) -> Trial:
    """Cold sync through the emulated link into an empty registry, check it, then sync again."""
    revision = ferry_revision()
    scratch = settings.workdir / f"{tool.name.replace(' ', '')}-{round_number}"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with ExitStack() as stack:
            destination = stack.enter_context(start_registry(scratch / "registry"))
            emulator = stack.enter_context(
                BackgroundLinkEmulator("127.0.0.1", destination.port, settings.link)
            )
            command = tool.sync_command(source.host, emulator.host, scratch, workload)
            name = f"{workload.name}-{tool.name.replace(' ', '')}-{round_number}"
            cold = _measure(command, settings, emulator, f"{name}-cold")
            problems = check_registry(destination, DEST_NAMESPACE, workload)
            if cold.returncode != 0:
                problems.insert(0, f"{tool.name} exited with status {cold.returncode}")
            noop = _measure(command, settings, emulator, f"{name}-noop") if cold.returncode == 0 else None
            return Trial(tool.name, round_number, cold, noop, problems, revision)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def copy_trial(
    tool: Tool, source: RegistryServer, workload: Workload, settings: TrialSettings, round_number: int
) -> Trial:
    """Copy the workload's single image registry to registry on plain loopback (no emulator)."""
    revision = ferry_revision()
    (tagged,) = workload.tags
    scratch = settings.workdir / f"{tool.name.replace(' ', '')}-{round_number}"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with start_registry(scratch / "registry") as destination:
            reference = f"{tagged.repository}:{tagged.tag}"
            command = tool.copy_command(
                f"{source.host}/{NAMESPACE}/{reference}",
                f"{destination.host}/{DEST_NAMESPACE}/{reference}",
                scratch,
            )
            cold = _measure(command, settings, None, "")
            problems = check_registry(destination, DEST_NAMESPACE, workload)
            if cold.returncode != 0:
                problems.insert(0, f"{tool.name} exited with status {cold.returncode}")
            return Trial(tool.name, round_number, cold, None, problems, revision)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
