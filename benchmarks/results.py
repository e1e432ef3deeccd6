"""What a benchmark run found, the per-tool medians, and the issue's targets with PASS/FAIL.

Why separate from the rendering: the JSON in ``benchmarks/results/`` and both renderings (console
and Markdown) must say the same thing, so the numbers and verdicts are computed once, here.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.trials import Phase, Trial

SKOPEO = "skopeo"


@dataclass(frozen=True)
class WorkloadResult:
    """One workload: its shape, the source check, and every trial of every tool."""

    name: str
    description: str
    linked: bool
    repositories: int
    tags: int
    multi_arch_tags: int
    unique_blobs: int
    unique_blob_bytes: int
    unique_manifests: int
    unique_manifest_bytes: int
    link_seconds: float | None
    seed_seconds: float
    source_problems: list[str]
    trials: list[Trial] = field(default_factory=list)

    @property
    def tools(self) -> list[str]:
        return list(dict.fromkeys(trial.tool for trial in self.trials))

    def figures(self, tool: str) -> ToolFigures:
        return ToolFigures.of([trial for trial in self.trials if trial.tool == tool])


@dataclass(frozen=True)
class RunResult:
    """A whole run: where and how it was measured, and the workloads."""

    started: str
    environment: dict[str, str]
    link: dict[str, object]
    repeat: int
    workloads: list[WorkloadResult]
    interrupted: bool = False


@dataclass(frozen=True)
class Spread:
    """Median with min and max over the rounds."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        return cls(statistics.median(values), min(values), max(values)) if values else None


def _spread(trials: list[Trial], pick: Callable[[Trial], float | int | None]) -> Spread | None:
    return Spread.of([float(v) for v in (pick(t) for t in trials) if v is not None])


def _noop(pick: Callable[[Phase], float | int | None]) -> Callable[[Trial], float | int | None]:
    return lambda trial: pick(trial.noop) if trial.noop is not None else None


def _total(counts: dict[str, int] | None) -> int | None:
    return sum(counts.values()) if counts is not None else None


def _share(phase: Phase) -> float | None:
    if phase.link_busy_seconds is None or phase.seconds <= 0:
        return None
    return phase.link_busy_seconds / phase.seconds


@dataclass(frozen=True)
class ToolFigures:
    """A tool's medians over its successful rounds (a failed round has no meaningful time)."""

    rounds: int
    failed_rounds: int
    problems: list[str]
    cold_seconds: Spread | None
    noop_seconds: Spread | None
    bytes_sent: Spread | None
    noop_bytes_sent: Spread | None
    connections: Spread | None
    noop_connections: Spread | None
    max_open: Spread | None
    requests: Spread | None
    noop_requests: Spread | None
    request_mix: dict[str, int] | None
    peak_rss_bytes: Spread | None
    cpu_seconds: Spread | None
    noop_cpu_seconds: Spread | None
    link_busy_share: Spread | None
    first_byte_after: Spread | None
    last_byte_before_exit: Spread | None
    summary: dict[str, object] | None

    @classmethod
    def of(cls, trials: list[Trial]) -> ToolFigures:
        good = [trial for trial in trials if trial.cold.returncode == 0]
        return cls(
            rounds=len(trials),
            failed_rounds=len(trials) - len(good),
            problems=sorted({problem for trial in trials for problem in trial.problems}),
            cold_seconds=_spread(good, lambda t: t.cold.seconds),
            noop_seconds=_spread(good, _noop(lambda p: p.seconds)),
            bytes_sent=_spread(good, lambda t: t.cold.bytes_sent),
            noop_bytes_sent=_spread(good, _noop(lambda p: p.bytes_sent)),
            connections=_spread(good, lambda t: t.cold.connections),
            noop_connections=_spread(good, _noop(lambda p: p.connections)),
            max_open=_spread(good, lambda t: t.cold.max_open),
            requests=_spread(good, lambda t: _total(t.cold.requests)),
            noop_requests=_spread(good, _noop(lambda p: _total(p.requests))),
            request_mix=good[-1].cold.requests if good else None,
            peak_rss_bytes=_spread(good, lambda t: t.cold.peak_rss_bytes),
            cpu_seconds=_spread(good, lambda t: t.cold.cpu_seconds),
            noop_cpu_seconds=_spread(good, _noop(lambda p: p.cpu_seconds)),
            link_busy_share=_spread(good, lambda t: _share(t.cold)),
            first_byte_after=_spread(good, lambda t: t.cold.first_byte_after),
            last_byte_before_exit=_spread(good, lambda t: t.cold.last_byte_before_exit),
            summary=good[-1].cold.summary if good else None,
        )


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, evaluated for one ferry variant."""

    tool: str
    goal: str
    measured: str
    passed: bool | None  # None: not applicable in this run (skopeo, the yardstick, was not run)

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else "PASS" if self.passed else "FAIL"


def _median(spread: Spread | None) -> float | None:
    return spread.median if spread is not None else None


def targets(result: WorkloadResult) -> list[Target]:
    """The issue's targets for every ferry variant in the workload (skopeo is the yardstick)."""
    skopeo = result.figures(SKOPEO) if SKOPEO in result.tools else None
    found: list[Target] = []
    for tool in result.tools:
        if tool == SKOPEO:
            continue
        mine = result.figures(tool)
        found.append(Target(tool, "every tag digest-exact, nothing missing", _problems(mine), _correct(mine)))
        if result.linked:
            found += _sync_targets(tool, mine, skopeo, result)
        else:
            found += _big_layer_targets(tool, mine, skopeo, result)
    return found


def _problems(figures: ToolFigures) -> str:
    failed = f", {figures.failed_rounds} failed run(s)" if figures.failed_rounds else ""
    return f"{len(figures.problems)} problem(s){failed}"


def _correct(figures: ToolFigures) -> bool:
    return not figures.problems and figures.failed_rounds == 0


def _ratio_target(tool: str, goal: str, mine: float | None, theirs: float | None, limit: float) -> Target:
    if theirs is None or theirs <= 0:
        return Target(tool, goal, "skopeo not run", None)
    if mine is None:
        return Target(tool, goal, "not measured", False)
    ratio = mine / theirs
    return Target(tool, goal, f"{mine:.2f} s vs {theirs:.2f} s = {ratio:.2f}×", ratio <= limit)


def _sync_targets(
    tool: str, mine: ToolFigures, skopeo: ToolFigures | None, result: WorkloadResult
) -> list[Target]:
    cold, noop = _median(mine.cold_seconds), _median(mine.noop_seconds)
    found = [
        _ratio_target(
            tool,
            "cold sync ≤ ¼ of skopeo's time",
            cold,
            _median(skopeo.cold_seconds) if skopeo else None,
            0.25,
        ),
        _ratio_target(
            tool,
            "no-op re-sync ≤ ¼ of skopeo's time",
            noop,
            _median(skopeo.noop_seconds) if skopeo else None,
            0.25,
        ),
    ]
    link = result.link_seconds or 0.0
    if cold is None:
        found.append(Target(tool, "cold sync ≤ 1.5 × link time of the unique bytes", "not measured", False))
    else:
        found.append(
            Target(
                tool,
                "cold sync ≤ 1.5 × link time of the unique bytes",
                f"{cold:.2f} s vs {link:.2f} s = {cold / link:.2f}×",
                cold <= 1.5 * link,
            )
        )
    sent = _median(mine.bytes_sent)
    unique = result.unique_blob_bytes
    if sent is None:
        found.append(Target(tool, "bytes sent ≤ unique blob bytes + 2 %", "not measured", False))
    else:
        found.append(
            Target(
                tool,
                "bytes sent ≤ unique blob bytes + 2 %",
                f"{sent / 1e6:.2f} MB vs {unique / 1e6:.2f} MB = {sent / unique - 1:+.2%}",
                sent <= 1.02 * unique,
            )
        )
    return found


def throughput(result: WorkloadResult, figures: ToolFigures) -> float | None:
    """MB/s of blob bytes for a plain-loopback copy."""
    seconds = _median(figures.cold_seconds)
    return result.unique_blob_bytes / seconds / 1e6 if seconds else None


def _big_layer_targets(
    tool: str, mine: ToolFigures, skopeo: ToolFigures | None, result: WorkloadResult
) -> list[Target]:
    rss = _median(mine.peak_rss_bytes)
    found = [
        Target(
            tool,
            "peak memory < 200 MB",
            f"{rss / 1e6:.0f} MB" if rss is not None else "not measured",
            rss is not None and rss < 200e6,
        )
    ]
    ours = throughput(result, mine)
    theirs = throughput(result, skopeo) if skopeo else None
    if theirs is None:
        found.append(Target(tool, "throughput ≥ skopeo's", "skopeo not run", None))
    elif ours is None:
        found.append(Target(tool, "throughput ≥ skopeo's", "not measured", False))
    else:
        found.append(
            Target(tool, "throughput ≥ skopeo's", f"{ours:.0f} MB/s vs {theirs:.0f} MB/s", ours >= theirs)
        )
    return found
