"""A dry run of a rule as both front ends show it: the plan (``ReplicationService.plan``: the source
listed and filtered, one task per repository, the tags it keeps and where they land), then each
planned item looked up at the destination, so the preview says what a run would really do: copy
it, replace it, leave it because it is up to date, or skip it because it exists with other content
and the rule does not override (Harbor #18638 asks for exactly this).

Nothing is written anywhere. Destination look-ups are HEAD requests, a few at a time, with short
retries; past ``check_limit`` items the rest are listed unchecked so a rule over thousands of tags
still answers quickly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ferry.distribution.client import RegistryClient
from ferry.distribution.options import RetryPolicy, Timeouts
from ferry.errors import FerryError
from ferry.jobs.clients import connect, registry_host
from ferry.oci.digest import Digest
from ferry.replication.domain.execution import NewTask
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Registry
from ferry.replication.domain.status import already_exists_message
from ferry.replication.engine.tasks import bounded_map
from ferry.services import Services

CHECK_LIMIT = 500
CHECK_CONCURRENCY = 8
_RETRY = RetryPolicy(attempts=2, max_delay=2.0, max_retry_after=5.0)
_TIMEOUTS = Timeouts(connect=10.0, idle=30.0)


class PreviewOutcome(StrEnum):
    COPY = "copy"
    """Not at the destination yet."""
    REPLACE = "replace"
    """At the destination with other content; the rule overrides it."""
    UP_TO_DATE = "up_to_date"
    """The destination has the same digest already: a run leaves it."""
    SKIPPED_EXISTS = "skipped_exists"
    """At the destination with other content, and the rule does not override: a run skips it."""
    UNCHECKED = "unchecked"
    """Past the check limit, or the destination could not be asked."""


@dataclass(frozen=True)
class PreviewItem:
    reference: str
    """A tag, or the digest of an untagged artifact."""
    destination: str
    """``repository:tag`` or ``repository@digest`` at the destination."""
    outcome: PreviewOutcome
    message: str = ""


@dataclass(frozen=True)
class PreviewTask:
    source_repository: str
    destination_repository: str
    items: tuple[PreviewItem, ...]


@dataclass(frozen=True)
class PolicyPreview:
    source: Registry
    destination: Registry
    tasks: tuple[PreviewTask, ...]
    note: str = ""
    """Why nothing is planned, when a name filter is the likely cause (the plan's note)."""

    def count(self, outcome: PreviewOutcome) -> int:
        return sum(1 for task in self.tasks for item in task.items if item.outcome is outcome)

    @property
    def item_count(self) -> int:
        return sum(len(task.items) for task in self.tasks)


@dataclass(frozen=True)
class _Lookup:
    task: int
    reference: str
    digest: Digest | None
    repository: str


async def preview_policy(
    services: Services, policy: Policy, *, check_limit: int = CHECK_LIMIT
) -> PolicyPreview:
    """What a run of ``policy`` would do now; raises the plan's ``FerryError`` when it cannot be
    planned (an unreachable source, flattening that does not fit)."""
    plan = await services.service.plan(policy)
    source = await services.service.dispatcher.registry(policy.src_registry_id)
    destination = await services.service.dispatcher.registry(policy.dest_registry_id)
    lookups = [
        _Lookup(index, reference, artifact.digest, task.destination_repository)
        for index, task in enumerate(plan.tasks)
        for artifact in task.artifacts
        for reference in artifact.references
    ]
    checked = lookups[:check_limit]
    async with connect(
        destination, max_connections=CHECK_CONCURRENCY, retry=_RETRY, timeouts=_TIMEOUTS
    ) as connection:
        client = connection.client
        outcomes = await bounded_map(
            lambda lookup: _check(client, lookup, override=policy.override), checked, limit=CHECK_CONCURRENCY
        )
    outcomes += [(PreviewOutcome.UNCHECKED, "")] * (len(lookups) - len(checked))
    return PolicyPreview(source, destination, _tasks(plan.tasks, lookups, outcomes, destination), plan.note)


async def _check(client: RegistryClient, lookup: _Lookup, *, override: bool) -> tuple[PreviewOutcome, str]:
    try:
        current = await client.head_manifest(lookup.repository, lookup.reference)
    except FerryError as exc:
        return PreviewOutcome.UNCHECKED, str(exc)
    if current is None:
        return PreviewOutcome.COPY, ""
    if lookup.digest is not None and current.digest == lookup.digest:
        return PreviewOutcome.UP_TO_DATE, f"the destination already has {lookup.digest.short}"
    if not override:
        return PreviewOutcome.SKIPPED_EXISTS, already_exists_message(
            f"{lookup.repository}:{lookup.reference}"
        )
    return PreviewOutcome.REPLACE, f"the destination has {current.digest.short}"


def _tasks(
    planned: Sequence[NewTask],
    lookups: Sequence[_Lookup],
    outcomes: Sequence[tuple[PreviewOutcome, str]],
    destination: Registry,
) -> tuple[PreviewTask, ...]:
    items: list[list[PreviewItem]] = [[] for _ in planned]
    host = registry_host(destination)
    for lookup, (outcome, message) in zip(lookups, outcomes, strict=True):
        separator = "@" if ":" in lookup.reference else ":"  # a tag never holds a colon; a digest does
        shown = f"{host}/{lookup.repository}{separator}{lookup.reference}"
        items[lookup.task].append(PreviewItem(lookup.reference, shown, outcome, message))
    return tuple(
        PreviewTask(task.source_repository, task.destination_repository, tuple(found))
        for task, found in zip(planned, items, strict=True)
    )
