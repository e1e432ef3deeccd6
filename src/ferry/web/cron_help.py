"""The cron helper of the rule form: the next runs of a cron as typed, or the domain's message
saying how to write it. Computed by the domain (``check_cron``, ``next_runs``), the same rules the
scheduler fires by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ferry.replication.domain.cron import next_runs, zone
from ferry.replication.domain.fields import InvalidField

RUNS = 5


@dataclass(frozen=True)
class CronRun:
    utc: datetime
    local: datetime | None
    """The same instant in the rule's time zone, when it has one."""


@dataclass(frozen=True)
class CronPreview:
    cron: str
    timezone: str
    runs: tuple[CronRun, ...] = ()
    error: str | None = None

    @property
    def empty(self) -> bool:
        return not self.cron


def preview_cron(cron: str, timezone: str, *, now: datetime, count: int = RUNS) -> CronPreview:
    """The next ``count`` runs after ``now``; nothing for an empty cron; the error for a wrong one."""
    cron, timezone = cron.strip(), timezone.strip()
    if not cron:
        return CronPreview(cron, timezone)
    try:
        place: ZoneInfo | None = zone(timezone or None)
        runs = next_runs(cron, after=now.astimezone(UTC), timezone=timezone or None, count=count)
    except InvalidField as exc:
        return CronPreview(cron, timezone, error=str(exc))
    return CronPreview(
        cron, timezone, tuple(CronRun(run, run.astimezone(place) if place else None) for run in runs)
    )
