"""ferry's Prometheus metrics (see docs/metrics.md for each one and example queries).

``Metrics`` owns its own ``CollectorRegistry`` rather than the Prometheus client's global default
registry, so several services (and tests) in one process never share counters. Counters and
histograms are recorded as work happens (the ``MetricsRecorder`` calls); the counts of executions
and tasks by status come from the store, and the in-flight gauges from the dispatcher, in a
snapshot the ``/metrics`` route refreshes before rendering: collectors are synchronous and must
not query the database from inside the event loop.

Only ``ferry serve`` imports this module (the Prometheus client takes ~60 ms to import).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from ferry.distribution.observe import RequestOutcome, RetryReason
from ferry.jobs.dispatcher import Activity
from ferry.replication.domain.status import ExecutionStatus, TaskStatus, TriggerType
from ferry.replication.engine.progress import BlobOutcome, ImageOutcome
from ferry.store import Store
from ferry.store.ended import ExecutionEnded

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The Prometheus text format, version 0.0.4."""

EXECUTION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
TASK_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400)

_ENDED_EXECUTION = (ExecutionStatus.SUCCEED, ExecutionStatus.FAILED, ExecutionStatus.STOPPED)
_ENDED_TASK = (TaskStatus.SUCCEED, TaskStatus.FAILED, TaskStatus.STOPPED)


@dataclass(frozen=True)
class Snapshot:
    """What the store and the dispatcher said at the last refresh."""

    executions: Mapping[ExecutionStatus, int] = field(
        default_factory=lambda: dict.fromkeys(ExecutionStatus, 0)
    )
    tasks: Mapping[TaskStatus, int] = field(default_factory=lambda: dict.fromkeys(TaskStatus, 0))
    activity: Activity = field(default_factory=Activity)


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterable[Metric]:
        snapshot = self.snapshot
        yield _by_status(
            "ferry_executions",
            "Replication executions by status (the executions retention keeps, all ferry processes)",
            snapshot.executions.items(),
        )
        yield _by_status(
            "ferry_tasks",
            "Replication tasks by status (of the executions retention keeps, all ferry processes)",
            snapshot.tasks.items(),
        )
        yield GaugeMetricFamily(
            "ferry_tasks_running",
            "Tasks this ferry process is running now",
            value=snapshot.activity.tasks_running,
        )
        yield GaugeMetricFamily(
            "ferry_transfers_in_flight",
            "Blob uploads this ferry process is moving bytes for now",
            value=snapshot.activity.transfers_in_flight,
        )


def _by_status(name: str, documentation: str, counts: Iterable[tuple[StrEnum, int]]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in counts:
        family.add_metric([status.value], count)
    return family


class Metrics:
    """The service's metrics: a ``MetricsRecorder`` for the workers, rendered by ``/metrics``."""

    def __init__(self, *, version: str) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        Gauge("ferry_build_info", "ferry's version (always 1)", ["version"], registry=registry).labels(
            version
        ).set(1)
        ProcessCollector(registry=registry)
        self._snapshot = _SnapshotCollector()
        registry.register(self._snapshot)
        self._bytes = Counter(
            "ferry_bytes_transferred", "Blob bytes sent to destination registries", registry=registry
        )
        self._blobs = Counter(
            "ferry_blobs", "Blobs settled at a destination, by outcome", ["outcome"], registry=registry
        )
        self._blob_bytes = Counter(
            "ferry_blob_bytes",
            "Sizes of the blobs settled at a destination, by outcome",
            ["outcome"],
            registry=registry,
        )
        self._images = Counter(
            "ferry_images", "Images (artifacts) settled, by outcome", ["outcome"], registry=registry
        )
        self._executions = Histogram(
            "ferry_execution_duration_seconds",
            "Durations of the executions that ended, by final status and trigger",
            ["status", "trigger"],
            buckets=EXECUTION_BUCKETS,
            registry=registry,
        )
        self._tasks = Histogram(
            "ferry_task_duration_seconds",
            "Durations (first start to end, retries included) of the tasks that ended, by final status",
            ["status"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self._requests = Counter(
            "ferry_registry_requests",
            "HTTP exchanges with registries during replication, by outcome",
            ["registry", "outcome"],
            registry=registry,
        )
        self._retries = Counter(
            "ferry_registry_retries",
            "Registry requests sent again, by reason",
            ["registry", "reason"],
            registry=registry,
        )
        self._zero_known_series()

    def _zero_known_series(self) -> None:
        """Every label value known ahead is exported from the start, so ``increase()`` sees the
        first event rather than a series appearing out of nothing."""
        for blob in BlobOutcome:
            self._blobs.labels(blob.value)
            self._blob_bytes.labels(blob.value)
        for image in ImageOutcome:
            self._images.labels(image.value)
        for status in _ENDED_EXECUTION:
            for trigger in TriggerType:
                self._executions.labels(status.value, trigger.value)
        for task in _ENDED_TASK:
            self._tasks.labels(task.value)

    # -- the recorder ------------------------------------------------------------------------

    def bytes_sent(self, amount: int) -> None:
        self._bytes.inc(amount)

    def blob_done(self, outcome: BlobOutcome, size: int) -> None:
        self._blobs.labels(outcome.value).inc()
        self._blob_bytes.labels(outcome.value).inc(size)

    def image_done(self, outcome: ImageOutcome) -> None:
        self._images.labels(outcome.value).inc()

    def task_ended(self, status: TaskStatus, seconds: float) -> None:
        self._tasks.labels(status.value).observe(seconds)

    def execution_ended(self, execution: ExecutionEnded) -> None:
        self._executions.labels(execution.status.value, execution.trigger.value).observe(execution.seconds)

    def request_done(self, registry: str, outcome: RequestOutcome) -> None:
        self._requests.labels(registry, outcome.value).inc()

    def request_retried(self, registry: str, reason: RetryReason) -> None:
        self._retries.labels(registry, reason.value).inc()

    # -- exposition --------------------------------------------------------------------------

    async def refresh(self, store: Store, activity: Activity) -> None:
        """Take the store's counts and the dispatcher's activity for the next ``render``."""
        self._snapshot.snapshot = Snapshot(
            executions=await store.executions.count_by_status(),
            tasks=await store.tasks.count_by_status(),
            activity=activity,
        )

    def render(self) -> bytes:
        """Everything, in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(_WithoutCreated(self.registry))


class _WithoutCreated(Collector):
    """The registry without the client's ``*_created`` samples: in the text format they become a
    gauge family of start timestamps beside every counter and histogram, which Prometheus does not
    use; the client can only drop them process-wide."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        for family in self._registry.collect():
            family.samples = [sample for sample in family.samples if not sample.name.endswith("_created")]
            yield family
