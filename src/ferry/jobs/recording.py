"""What the workers report for metrics, as a small interface: ``ferry serve`` passes its Prometheus
``Metrics`` (``jobs.metrics``) down through the dispatcher; everything else (the CLI's one-shot
runs, tests) gets ``NoMetrics``, which records nothing and does not import the Prometheus client
(importing it costs ~60 ms, a tenth of a no-op re-sync)."""

from __future__ import annotations

from typing import Protocol

from ferry.distribution.observe import RequestOutcome, RetryReason
from ferry.replication.domain.status import TaskStatus
from ferry.replication.engine.progress import BlobOutcome, ImageOutcome
from ferry.store.ended import ExecutionEnded


class MetricsRecorder(Protocol):
    """Called on the event loop; each call must return quickly and never raise."""

    def bytes_sent(self, amount: int) -> None:
        """Blob bytes sent to a destination registry."""

    def blob_done(self, outcome: BlobOutcome, size: int) -> None: ...

    def image_done(self, outcome: ImageOutcome) -> None: ...

    def task_ended(self, status: TaskStatus, seconds: float) -> None: ...

    def execution_ended(self, execution: ExecutionEnded) -> None: ...

    def request_done(self, registry: str, outcome: RequestOutcome) -> None:
        """One HTTP exchange with ``registry`` (a ``distribution.observe.RequestObserver``)."""

    def request_retried(self, registry: str, reason: RetryReason) -> None: ...


class NoMetrics:
    """Records nothing."""

    def bytes_sent(self, amount: int) -> None:
        pass

    def blob_done(self, outcome: BlobOutcome, size: int) -> None:
        pass

    def image_done(self, outcome: ImageOutcome) -> None:
        pass

    def task_ended(self, status: TaskStatus, seconds: float) -> None:
        pass

    def execution_ended(self, execution: ExecutionEnded) -> None:
        pass

    def request_done(self, registry: str, outcome: RequestOutcome) -> None:
        pass

    def request_retried(self, registry: str, reason: RetryReason) -> None:
        pass
