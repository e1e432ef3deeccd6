"""Render a :class:`RunResult`: a side-by-side table on the console and ``docs/benchmarks.md``.

Why generated: the document must never drift from the measurements, so it is rewritten from the
run's results every time, environment and method included.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.results import (
    SKOPEO,
    RunResult,
    Spread,
    Target,
    ToolFigures,
    WorkloadResult,
    targets,
    throughput,
)

Row = tuple[str, list[str], str]  # metric, one cell per tool, ferry/skopeo ratio
MIX_LABEL = "  by method"


def _num(spread: Spread | None, scale: float = 1.0, digits: int = 2) -> str:
    if spread is None:
        return "—"
    text = f"{spread.median / scale:.{digits}f}"
    if spread.low != spread.high:
        text += f" ({spread.low / scale:.{digits}f}–{spread.high / scale:.{digits}f})"
    return text


def _ratio(mine: Spread | None, theirs: Spread | None) -> str:
    if mine is None or theirs is None or theirs.median == 0:
        return ""
    return f"{mine.median / theirs.median:.2f}×"


def _rows(result: WorkloadResult) -> list[Row]:
    tools = result.tools
    figures = {tool: result.figures(tool) for tool in tools}
    ferry = next((tool for tool in tools if tool != SKOPEO), None)

    def row(
        label: str, pick: Callable[[ToolFigures], Spread | None], scale: float = 1.0, digits: int = 2
    ) -> Row:
        cells = [_num(pick(figures[tool]), scale, digits) for tool in tools]
        ratio = _ratio(pick(figures[ferry]), pick(figures[SKOPEO])) if ferry and SKOPEO in figures else ""
        return (label, cells, ratio)

    problems: Row = ("problems found by the check", [_problem_cell(figures[tool]) for tool in tools], "")
    if not result.linked:
        speeds = [throughput(result, figures[tool]) for tool in tools]
        return [
            row("copy time (s)", lambda f: f.cold_seconds),
            ("throughput (MB/s)", [f"{s:.0f}" if s else "—" for s in speeds], ""),
            row("peak RSS (MB)", lambda f: f.peak_rss_bytes, 1e6, 0),
            row("CPU time, user + system (s)", lambda f: f.cpu_seconds),
            problems,
        ]
    unique = result.unique_blob_bytes
    return [
        row("cold sync (s)", lambda f: f.cold_seconds),
        row("no-op re-sync (s)", lambda f: f.noop_seconds),
        row("bytes sent, cold (MB)", lambda f: f.bytes_sent, 1e6),
        (
            "  vs unique blob bytes",
            [f"{f.bytes_sent.median / unique - 1:+.2%}" if f.bytes_sent else "—" for f in figures.values()],
            "",
        ),
        row("bytes sent, no-op (MB)", lambda f: f.noop_bytes_sent, 1e6, 3),
        row("HTTP requests, cold", lambda f: f.requests, digits=0),
        (MIX_LABEL, [_mix(f.request_mix) for f in figures.values()], ""),
        row("HTTP requests, no-op", lambda f: f.noop_requests, digits=0),
        row("TCP connections, cold", lambda f: f.connections, digits=0),
        row("TCP connections, no-op", lambda f: f.noop_connections, digits=0),
        row("most connections open at once", lambda f: f.max_open, digits=0),
        row("peak RSS (MB)", lambda f: f.peak_rss_bytes, 1e6, 0),
        row("CPU time, cold (s)", lambda f: f.cpu_seconds),
        row("CPU time, no-op (s)", lambda f: f.noop_cpu_seconds),
        row("cold: up-link busy (% of wall)", lambda f: f.link_busy_share, 0.01, 0),
        row("cold: first request after (s)", lambda f: f.first_byte_after),
        row("cold: last byte to exit (s)", lambda f: f.last_byte_before_exit),
        problems,
    ]


def _mix(counts: dict[str, int] | None) -> str:
    return " ".join(f"{method} {count}" for method, count in counts.items()) if counts else "—"


def _problem_cell(figures: ToolFigures) -> str:
    failed = f" + {figures.failed_rounds} failed run(s)" if figures.failed_rounds else ""
    return f"{len(figures.problems)}{failed}"


def _shape(result: WorkloadResult) -> str:
    text = (
        f"{result.repositories} repositories, {result.tags} tags ({result.multi_arch_tags} multi-arch), "
        f"{result.unique_blobs} unique blobs = {result.unique_blob_bytes / 1e6:.2f} MB, "
        f"{result.unique_manifests} unique manifests = {result.unique_manifest_bytes / 1e3:.1f} kB"
    )
    if result.link_seconds is not None:
        text += f"; link time for the unique blob bytes {result.link_seconds:.2f} s"
    return text


def console(run: RunResult) -> str:
    """Plain-text tables, one per workload, tools side by side, then the targets."""
    out: list[str] = []
    revisions = sorted({t.revision for result in run.workloads for t in result.trials if t.revision})
    if len(revisions) > 1:
        out.append(f"WARNING: ferry changed during this run ({', '.join(revisions)}); figures mix them")
    for result in run.workloads:
        out += ["", f"== {result.name}: {result.description}", f"   {_shape(result)}"]
        tools = result.tools
        rows = [row for row in _rows(result) if row[0] != MIX_LABEL]  # too wide for a column
        width = 2 + max(len(text) for text in [*tools, *(cell for _, cells, _ in rows for cell in cells)])
        out.append(f"{'':32}" + "".join(f"{tool:>{width}}" for tool in tools) + f"{'ferry/skopeo':>14}")
        for label, cells, ratio in rows:
            out.append(f"{label:32}" + "".join(f"{cell:>{width}}" for cell in cells) + f"{ratio:>14}")
        if result.linked:
            mixes = [f"{tool}: {_mix(result.figures(tool).request_mix)}" for tool in tools]
            out.append("  requests by method, cold: " + "; ".join(mixes))
        for target in targets(result):
            verdict = target.verdict
            out.append(f"  [{verdict}] {target.tool}: {target.goal}: {target.measured}")
        for tool in tools:
            for problem in result.figures(tool).problems[:20]:
                out.append(f"  !! {tool}: {problem}")
    return "\n".join(out)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _target_rows(found: list[Target], workload: str) -> list[list[str]]:
    return [[workload, t.tool, t.goal, t.measured, f"**{t.verdict}**"] for t in found]


def markdown(run: RunResult, *, results_file: str, command: str) -> str:
    """The whole ``docs/benchmarks.md``."""
    env = run.environment
    link = run.link
    lines = [
        "# Benchmarks: ferry against `skopeo sync`",
        "",
        f"Generated by `{command}` on {run.started} (UTC); {run.repeat} round(s) per tool, "
        "medians shown with (min–max) when there was more than one round. Raw results: "
        f"`{results_file}` (git-ignored). Do not edit by hand: run the benchmark again.",
        "",
        "## Targets",
        "",
    ]
    revisions = sorted({t.revision for result in run.workloads for t in result.trials if t.revision})
    if len(revisions) > 1:
        lines += [
            f"**Warning: ferry changed during this run** (revisions {', '.join(revisions)}); "
            "the figures mix them.",
            "",
        ]
    all_targets = [row for result in run.workloads for row in _target_rows(targets(result), result.name)]
    lines += _table(["workload", "tool", "target", "measured", "verdict"], all_targets)
    lines += ["", "## Results", ""]
    for result in run.workloads:
        lines += [f"### {result.name}", "", f"{result.description}.", "", _shape(result) + ".", ""]
        header = ["", *result.tools, "ferry / skopeo"]
        lines += _table(header, [[label, *cells, ratio] for label, cells, ratio in _rows(result)])
        lines += _ferry_notes(result)
        lines += _where_time_goes(result)
        for tool in result.tools:
            problems = result.figures(tool).problems
            if problems:
                lines += ["", f"**{tool}: {len(problems)} problem(s)** (first 20):", ""]
                lines += [f"- `{problem}`" for problem in problems[:20]]
        lines.append("")
    lines += ["## Environment", "", *[f"- {key}: {value}" for key, value in env.items()], ""]
    lines += _method(link, env.get("registry storage", "disk (.work/bench)"))
    return "\n".join(lines)


def _method(link: dict[str, object], storage: str) -> list[str]:
    handshake = (
        "a new connection's first bytes wait one extra round trip, like a TCP handshake"
        if link.get("handshake")
        else "connection set-up itself is free, as in the emulator behind peers.md's numbers "
        "(`--handshake` charges a round trip per new connection)"
    )
    rate = float(str(link["rate_mbit"]))
    return [
        "## Method",
        "",
        "- **Link.** Each tool writes to its own fresh, empty destination registry (CNCF distribution) "
        f"behind `benchmarks/linkemu.py`, a TCP proxy that adds {link['delay_ms']:g} ms each way and caps "
        f"each direction at {rate:g} Mbit/s shared by all connections (one serialisation queue per "
        f"direction, bounded buffering so senders feel backpressure); {handshake}. Self-check before "
        f"this run: {link.get('check', 'not run')}.",
        "- **Source.** A registry on plain loopback, seeded once per workload with deterministic, "
        "incompressible layers (SHAKE-128 output); both tools read the same source.",
        f"- **Storage.** Every registry keeps its storage under the run's scratch directory: {storage}. "
        "On a RAM disk (`tmpfs`, the default when there is room) because on this VM's disk the same "
        "cold sync took anywhere from 6 to 12 s from one minute to the next: the destination writes "
        "every byte it receives, and the disk's speed is neither tool's doing. `--workdir .work/bench` "
        "measures on disk.",
        "- **Commands.** `ferry sync SRC/bench EMU/mirror --flatten 1 --json` (default concurrency "
        "unless a `-jN` column is shown) and `skopeo --policy <accept-anything> sync --all "
        "--preserve-digests --src yaml --dest docker --dest-tls-verify=false <file> EMU/mirror` with "
        "every repository listed in one YAML file (`bench/app1: []`, all tags; `tls-verify: false`), "
        "so each tool is one process. Both map `bench/app1` to `mirror/app1`. The big layer: "
        "`ferry copy SRC/bench/big:1g DST/mirror/big:1g` against `skopeo copy --all --preserve-digests`, "
        "registry to registry on plain loopback.",
        "- **Measures.** Wall time from process start to exit (start-up included); peak RSS and CPU "
        "time (user + system) from `/usr/bin/time`; bytes, TCP connections and HTTP requests counted "
        'by the emulator (client → destination is "bytes sent", HTTP headers included; a request is '
        "a read that starts with an HTTP method, exact for HTTP/1.1 clients). The link time is unique "
        f"blob bytes × 8 / {rate:g} Mbit/s, the floor for any tool. The no-op re-sync is the same command "
        "again right after the cold sync. *Up-link busy* is the share of the wall time the emulated "
        "link spent transmitting towards the destination; *first request after* is the time from "
        "process start to the first byte the link carried; *last byte to exit* is the tail after the "
        "last one.",
        "- **Check.** After every cold sync, every destination tag's `skopeo inspect --raw` digest must "
        "equal the source's, no tag may be missing or extra, and every child manifest and blob must "
        "be present with the right size (HEADs straight to the registry, not through the emulator).",
        "- **Fairness.** The tools alternate which goes first in each round, and each timed run waits "
        "(up to 90 s) until other processes leave the CPUs mostly idle. ferry runs with a persistent "
        "bytecode cache of its own (`.work/bench-pycache`), as an installed ferry would, because this "
        "sandbox sets `PYTHONDONTWRITEBYTECODE`. skopeo's blob-info cache (`/var/lib/containers/cache`) "
        "persists between runs, but every destination is a new registry on a new port, so it cannot "
        "help or hurt.",
        "",
        "## Reproduce",
        "",
        "```sh",
        "bash scripts/bootstrap.sh                            # docker-registry, skopeo, the venv",
        ".venv/bin/python benchmarks/linkemu.py --selftest   # the emulator delivers 15 ms / 400 Mbit/s",
        ".venv/bin/python benchmarks/run.py --workload all --repeat 3",
        ".venv/bin/python benchmarks/run.py --workload baseline --ferry-jobs 16 --trace  # + tuned, traces",
        "```",
        "",
        "Scratch data goes to `/dev/shm/ferry-bench/` (or `.work/bench/` when there is no room in RAM) "
        "and is deleted after each workload (`--keep` keeps it). "
        "`--trace` writes every request each tool sent, with its time since process start, to "
        "`benchmarks/results/<run>-trace/`.",
        "",
    ]


def _where_time_goes(result: WorkloadResult) -> list[str]:
    """Split each tool's median cold sync into before the first byte, moving data, and the tail."""
    if not result.linked or result.link_seconds is None:
        return []
    lines = ["", "Where the cold sync's time goes (medians):", ""]
    for tool in result.tools:
        f = result.figures(tool)
        if not (f.cold_seconds and f.first_byte_after and f.last_byte_before_exit and f.cpu_seconds):
            continue
        wall = f.cold_seconds.median
        head, tail = f.first_byte_after.median, f.last_byte_before_exit.median
        moving, link, cpu = wall - head - tail, result.link_seconds, f.cpu_seconds.median
        lines.append(
            f"- {tool}: {wall:.2f} s = {head:.2f} s before its first request to the destination "
            f"(start-up, reading the source) + {moving:.2f} s working, during which the link "
            f"needed {link:.2f} s ({link / moving:.0%} busy) + {tail:.2f} s after the last byte; "
            f"{cpu:.2f} s of CPU ({cpu / wall:.0%} of one core over the run)."
        )
    return lines


def _ferry_notes(result: WorkloadResult) -> list[str]:
    """ferry's own ``--json`` summary of the last cold run: where its blobs went."""
    lines: list[str] = []
    for tool in result.tools:
        summary = result.figures(tool).summary
        if not summary:
            continue
        counts, blobs = summary.get("counts"), summary.get("blobs")
        images = ", ".join(f"{k} {v}" for k, v in counts.items()) if isinstance(counts, dict) else "?"
        moved = ", ".join(f"{k} {v}" for k, v in blobs.items()) if isinstance(blobs, dict) else "?"
        lines.append(
            f"- {tool}'s own summary of its last cold run: images {images}; blobs {moved}; "
            f"{summary.get('bytes_sent')} blob bytes sent; {summary.get('seconds')} s after start-up."
        )
    return ["", *lines] if lines else []
