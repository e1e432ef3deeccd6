"""Benchmark ferry against ``skopeo sync``: ``.venv/bin/python benchmarks/run.py [--workload all]``.

For each workload: a fresh source registry on loopback is seeded; then, for each tool and round, a
fresh empty destination registry behind its own link emulator (15 ms one way, 400 Mbit/s) receives
a cold sync, is checked digest by digest, and receives a no-op re-sync. The side-by-side table is
printed, raw results go to ``benchmarks/results/<time>.json`` and the report to
``docs/benchmarks.md``. Every registry and emulator is stopped, and scratch data deleted, on exit,
on error and on Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

import argparse
import asyncio
import dataclasses
import fcntl
import json
import os
import platform
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from tests.support.registry import start_registry

from benchmarks.linkcheck import LinkCheck, check_link
from benchmarks.linkemu import LinkConfig
from benchmarks.report import console, markdown
from benchmarks.results import RunResult, WorkloadResult
from benchmarks.seed import seed_workload
from benchmarks.tools import FERRY, ROOT, Tool, ToolKind, ferry_revision, run_measured, version_of
from benchmarks.trials import Trial, TrialSettings, copy_trial, sync_trial
from benchmarks.verify import check_registry
from benchmarks.workloads import NAMESPACE, WORKLOADS, Workload

RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
#: peers.md's figure for the baseline's unique blob bytes (90 MiB of layers is 94.37 MB).
PEERS_BASELINE_MB = 94.5


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workload", default="all", help="baseline, large, big-layer, all, or a comma list (default: all)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds per tool (default 1); medians are reported"
    )
    parser.add_argument("--tools", default="ferry,skopeo", help="comma list of ferry, skopeo (default: both)")
    parser.add_argument(
        "--ferry-jobs", type=int, help="also run ferry with this --concurrency (a tuned column)"
    )
    parser.add_argument("--delay-ms", type=float, default=15.0, help="one-way link delay (default 15)")
    parser.add_argument(
        "--rate-mbit", type=float, default=400.0, help="link bandwidth per direction (default 400)"
    )
    parser.add_argument(
        "--handshake",
        action="store_true",
        help="emulate the TCP handshake: a new connection costs a round trip",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=default_workdir(),
        help="scratch directory, registry storage included (default: /dev/shm/ferry-bench when that "
        "is a RAM disk with room, else .work/bench)",
    )
    parser.add_argument(
        "--max-cpu-busy",
        type=float,
        default=0.3,
        help="wait (up to 90 s) until other processes use at most this share of the CPUs before timing",
    )
    parser.add_argument(
        "--trace", action="store_true", help="write every request each tool sent to benchmarks/results/"
    )
    parser.add_argument("--keep", action="store_true", help="keep scratch data (registry storage)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--skip-link-check", action="store_true", help="skip the emulator's self-check")
    args = parser.parse_args(argv)
    names = list(WORKLOADS) if args.workload == "all" else [n.strip() for n in args.workload.split(",")]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)} or all")
    args.workloads = names
    try:
        kinds = [ToolKind(name.strip()) for name in args.tools.split(",")]
    except ValueError:
        parser.error("--tools takes ferry and/or skopeo")
    tools = [Tool(ToolKind.FERRY)] if ToolKind.FERRY in kinds else []
    if args.ferry_jobs:
        tools.append(Tool(ToolKind.FERRY, args.ferry_jobs))
    args.tool_list = [*tools, *([Tool(ToolKind.SKOPEO)] if ToolKind.SKOPEO in kinds else [])]
    return args


#: The big-layer workload keeps a 1 GiB layer in the source and in each tool's destination.
_RAM_DISK_ROOM = 8 * 2**30


def default_workdir() -> Path:
    """Registry storage in RAM when the machine has room: on this VM's disk the same cold sync
    took anywhere from 6 to 12 s from one minute to the next (the destination registry writes every
    byte it receives), which says nothing about either tool. The link is what is emulated."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= _RAM_DISK_ROOM:
        return shm / "ferry-bench"
    return ROOT / ".work" / "bench"


def storage_of(path: Path) -> str:
    """The file system type under ``path`` (``tmpfs`` is RAM), from /proc/mounts."""
    best, kind = "", "?"
    resolved = str(path.resolve())
    with open("/proc/mounts") as mounts:
        for line in mounts:
            _, mount_point, fs_type, *_ = line.split()
            inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best):
                best, kind = mount_point, fs_type
    return kind


def environment(workdir: Path) -> dict[str, str]:
    """Where the numbers were measured: they mean little without the machine and the versions."""
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    with open("/proc/meminfo") as info:
        memory = next((line.split(":", 1)[1].strip() for line in info if line.startswith("MemTotal")), "?")
    os_name = platform.platform()
    if Path("/etc/os-release").exists():
        fields = dict(
            line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
        )
        os_name = fields.get("PRETTY_NAME", os_name).strip('"')
    commit = ferry_revision()
    kib = memory.split()[0]
    return {
        "CPU": f"{os.cpu_count()} × {cpu}",
        "memory": f"{int(kib) / 2**20:.1f} GiB" if kib.isdigit() else memory,
        "OS": f"{os_name}, Linux {platform.release()}",
        "Python": platform.python_version(),
        "ferry": f"{version_of([FERRY, 'version'])} (git {commit or '?'})",
        "skopeo": version_of(["skopeo", "--version"]),
        "registry": version_of(["docker-registry", "--version"]),
        "registry storage": f"{storage_of(workdir)} ({workdir})",
    }


def _link_summary(config: LinkConfig, check: LinkCheck | None) -> dict[str, object]:
    summary: dict[str, object] = {
        "delay_ms": config.delay * 1e3,
        "rate_mbit": config.rate_bits / 1e6,
        "handshake": config.handshake,
    }
    if check is not None:
        worst = min(check.mbit.values())
        summary["check"] = (
            f"round trip {check.rtt_ms:.1f} ms, "
            f"first reply on a new connection {check.first_reply_ms:.1f} ms, "
            f"{worst:.0f}–{max(check.mbit.values()):.0f} Mbit/s for 1 and 4 connections each way"
            + ("" if check.ok else " (OUTSIDE TOLERANCE)")
        )
        summary["measured"] = dataclasses.asdict(check)
    return summary


@dataclass
class Progress:
    """What a workload has produced so far, kept by the caller so an interrupted run still reports it."""

    seed_seconds: float = 0.0
    source_problems: list[str] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)


def run_workload(
    workload: Workload, tools: list[Tool], args: argparse.Namespace, settings: TrialSettings, done: Progress
) -> None:
    """Seed a fresh source, then every round of every tool; the scratch data goes at the end."""
    blob_bytes = workload.unique_blob_bytes
    linked = workload.linked
    print(
        f"\n[{workload.name}] {len(workload.repositories)} repositories, {len(workload.tags)} tags, "
        f"{len(workload.unique_blobs())} unique blobs = {blob_bytes / 1e6:.2f} MB"
        + (f" (peers.md: {PEERS_BASELINE_MB} MB)" if workload.name == "baseline" else ""),
        flush=True,
    )
    settings = dataclasses.replace(settings, workdir=settings.workdir / workload.name)
    scratch = settings.workdir
    try:
        with start_registry(scratch / "source") as source:
            started = time.monotonic()
            seed_workload(source, workload)
            done.seed_seconds = time.monotonic() - started
            done.source_problems = check_registry(source, NAMESPACE, workload)
            print(f"[{workload.name}] source seeded in {done.seed_seconds:.1f} s and checked", flush=True)
            if done.source_problems:
                raise RuntimeError(
                    f"the source registry is not what the workload says: {done.source_problems[:5]}"
                )
            warm_up(source.host)
            for number in range(args.repeat):
                for tool in tools if number % 2 == 0 else list(reversed(tools)):
                    print(f"[{workload.name}] round {number + 1}/{args.repeat}: {tool.name} …", flush=True)
                    run_trial = sync_trial if linked else copy_trial
                    trial = run_trial(tool, source, workload, settings, number)
                    print(f"    {_brief(trial)}", flush=True)
                    done.trials.append(trial)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def describe(workload: Workload, link: LinkConfig, done: Progress) -> WorkloadResult:
    """The workload's shape next to what its trials measured."""
    blob_bytes = workload.unique_blob_bytes
    manifests = workload.unique_manifests()
    linked = workload.linked
    return WorkloadResult(
        name=workload.name,
        description=workload.description,
        linked=linked,
        repositories=len(workload.repositories),
        tags=len(workload.tags),
        multi_arch_tags=workload.multi_arch_tags,
        unique_blobs=len(workload.unique_blobs()),
        unique_blob_bytes=blob_bytes,
        unique_manifests=len(manifests),
        unique_manifest_bytes=sum(len(m) for m in manifests.values()),
        link_seconds=blob_bytes * 8 / link.rate_bits if linked else None,
        seed_seconds=done.seed_seconds,
        source_problems=done.source_problems,
        trials=done.trials,
    )


def warm_up(source_host: str) -> None:
    """One untimed ferry dry run against the source: fills ferry's bytecode cache (see tools.PYCACHE)."""
    run = run_measured([FERRY, "sync", f"{source_host}/{NAMESPACE}", f"{source_host}/warm-up", "--dry-run"])
    if not run.ok:
        print(f"warning: ferry's warm-up dry run failed ({run.returncode}): {run.stderr[-500:]}", flush=True)


def _brief(trial: Trial) -> str:
    cold = trial.cold
    text = f"cold {cold.seconds:.2f} s, rc {cold.returncode}, rss {cold.peak_rss_bytes / 1e6:.0f} MB"
    if cold.bytes_sent is not None:
        text += f", sent {cold.bytes_sent / 1e6:.2f} MB over {cold.connections} connections"
    if trial.noop is not None:
        text += f"; no-op {trial.noop.seconds:.2f} s over {trial.noop.connections} connections"
    text += f"; {len(trial.problems)} problem(s); CPU busy before: {cold.cpu_busy_before or 0:.0%}"
    if cold.error:
        text += "\n    " + cold.error[-1500:].replace("\n", "\n    ")
    return text


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM (and SIGINT in a background job) clean up exactly like Ctrl-C


@contextmanager
def exclusive_machine() -> Iterator[None]:
    """Hold ``.work/bench.lock`` for the whole run; a second run waits for the first.

    Why: two benchmark runs at once share two cores and skew each other's every number.
    """
    lock_path = ROOT / ".work" / "bench.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            print(f"waiting for another benchmark run ({lock.read().strip()}) to finish …", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        yield


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # Explicit handlers: a shell starts background jobs with SIGINT ignored, and Python keeps that.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with exclusive_machine():
            return _run(args, argv)
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    link = LinkConfig(delay=args.delay_ms / 1e3, rate_bits=args.rate_mbit * 1e6, handshake=args.handshake)
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    workdir = args.workdir / stamp
    env = environment(args.workdir)
    print("\n".join(f"{key}: {value}" for key, value in env.items()), flush=True)
    check = None
    if not args.skip_link_check and any(WORKLOADS[name]().linked for name in args.workloads):
        check = asyncio.run(check_link(link, 50_000_000))
    link_info = _link_summary(link, check)
    trace_dir = RESULTS / f"{stamp}-trace" if args.trace else None
    settings = TrialSettings(workdir, link, max_cpu_busy=args.max_cpu_busy, trace_dir=trace_dir)
    print(f"link: {link.delay * 1e3:g} ms one way, {link.rate_bits / 1e6:g} Mbit/s", end="; ")
    print(link_info.get("check", "not checked"), flush=True)
    results: list[WorkloadResult] = []
    interrupted = False
    try:
        for name in args.workloads:
            workload, done = WORKLOADS[name](), Progress()
            try:
                run_workload(workload, args.tool_list, args, settings, done)
            finally:
                if done.trials:
                    results.append(describe(workload, link, done))
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: registries and emulators stopped, scratch data removed", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    run = RunResult(
        started.strftime("%Y-%m-%d %H:%M"), env, link_info, args.repeat, results, interrupted=interrupted
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    results_file = RESULTS / f"{stamp}{'-interrupted' if interrupted else ''}.json"
    results_file.write_text(json.dumps(dataclasses.asdict(run), indent=2) + "\n")
    print(console(run))
    print(f"\nraw results: {results_file.relative_to(ROOT)}")
    if interrupted:
        return 130  # a partial run never overwrites the report
    if not args.no_docs:
        command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        report = markdown(run, results_file=str(results_file.relative_to(ROOT)), command=command.strip())
        DOCS.write_text(report + kept_sections(DOCS.read_text() if DOCS.exists() else ""))
        print(f"report: {DOCS.relative_to(ROOT)}")
    correct = all(not trial.problems for result in results for trial in result.trials)
    return 0 if correct else 1


def kept_sections(previous: str) -> str:
    """Sections other benchmarks generate into the same file (``benchmarks/scale_out.py``, between
    its markers): a run of this one keeps them."""
    from benchmarks.scale_out import BEGIN, END

    start, end = previous.find(BEGIN), previous.find(END)
    if start < 0 or end < start:
        return ""
    return "\n" + previous[start : end + len(END)] + "\n"


if __name__ == "__main__":
    sys.exit(main())
