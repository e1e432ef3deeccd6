"""Event-based replication: which policies an artifact event starts, and what a started execution
is limited to (its ``ExecutionScope``).

A policy takes an event when it is enabled, its trigger is ``event_based``, its source is the
event's registry, its name filters select the repository, and — for a pushed or deleted tag — its
tag filters keep the tag. Label filters are applied when the execution is planned (pushes: labels
at the source) or run (deletions: labels of the artifact at the destination). A deletion is taken
only by a policy with ``deletion`` on; the others ignore it, with the reason.

Events of one policy and one repository handled together (those that arrive within the
receivers' settling time) make one execution: several tags pushed in quick succession are one
execution that copies all of them (Harbor #21623), and a manifest deletion and the tag deletions the
registry reports with it are one execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ferry.oci.digest import Digest
from ferry.replication.domain.events import ArtifactEvent, EventAction
from ferry.replication.domain.plan import (
    PlannedArtifact,
    PlannedTask,
    destination_repository,
    may_keep_tag,
    selects_repository,
)
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import RegistryType
from ferry.replication.domain.status import Operation, TriggerType


@dataclass(frozen=True)
class ExecutionScope:
    """What an event-based execution is limited to: one repository, and the pushed tags, or the
    deleted manifests (digests) and tags."""

    action: EventAction
    repository: str
    tags: tuple[str, ...] = ()
    digests: tuple[Digest, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "repository": self.repository,
            "tags": list(self.tags),
            "digests": [str(digest) for digest in self.digests],
        }

    @classmethod
    def from_json(cls, shaped: Mapping[str, Any]) -> ExecutionScope:
        return cls(
            EventAction(shaped["action"]),
            str(shaped["repository"]),
            tuple(str(tag) for tag in shaped.get("tags", ())),
            tuple(Digest.parse(str(digest)) for digest in shaped.get("digests", ())),
        )

    def describe(self) -> str:
        items = [*self.tags, *(digest.short for digest in self.digests)]
        return f"{self.action} of {self.repository} ({', '.join(items)})"


@dataclass(frozen=True)
class EventStart:
    """An execution to start: the policy and what it is limited to."""

    policy: Policy
    scope: ExecutionScope


@dataclass(frozen=True)
class EventDecision:
    starts: list[EventStart]
    outcomes: list[str]
    """One line per event, in order: which policies took it, or why none did."""


@dataclass
class _Batch:
    tags: set[str] = field(default_factory=set)
    digests: set[Digest] = field(default_factory=set)


SourceMatch = Callable[[Policy, ArtifactEvent], bool]
"""Whether the policy's source registry is the registry the event happened in."""


def decide(
    policies: Sequence[Policy], events: Sequence[ArtifactEvent], *, is_source: SourceMatch
) -> EventDecision:
    """The executions a set of events starts, one per policy, repository and action."""
    candidates = [
        policy for policy in policies if policy.enabled and policy.trigger.type is TriggerType.EVENT_BASED
    ]
    batches: dict[tuple[int, str, EventAction], _Batch] = {}
    by_id = {policy.id: policy for policy in candidates}
    outcomes = []
    for event in events:
        taken: list[str] = []
        refused: list[str] = []
        for policy in candidates:
            if not is_source(policy, event):
                continue
            why = _refusal(policy, event)
            if why:
                refused.append(f"rule {policy.name!r} {why}")
                continue
            batch = batches.setdefault((policy.id, event.repository, event.action), _Batch())
            if event.digest is not None and event.action is EventAction.DELETE:
                batch.digests.add(event.digest)
            if event.tag is not None:
                batch.tags.add(event.tag)
            taken.append(repr(policy.name))
        text = f"{event.action} {event.reference}: "
        if taken:
            text += f"replicated by rule{'s' * (len(taken) > 1)} {', '.join(taken)}"
        else:
            text += "no event-based rule takes it"
        outcomes.append(text + "".join(f"; {line}" for line in refused))
    starts = [
        EventStart(
            by_id[policy_id],
            ExecutionScope(action, repository, tuple(sorted(batch.tags)), tuple(sorted(batch.digests))),
        )
        for (policy_id, repository, action), batch in batches.items()
    ]
    return EventDecision(starts, outcomes)


def _refusal(policy: Policy, event: ArtifactEvent) -> str:
    """Why ``policy`` does not act on ``event``; empty when it does."""
    if not selects_repository(policy, event.repository):
        return f"does not select {event.repository} (name filter)"
    if event.tag is not None and not may_keep_tag(policy, event.tag):
        return f"does not keep tag {event.tag} (tag filter)"
    if event.action is EventAction.DELETE and not policy.deletion:
        return "ignores deletions (deletion is off)"
    return ""


def plan_deletion(
    policy: Policy, scope: ExecutionScope, *, destination_type: RegistryType | None = None
) -> list[PlannedTask]:
    """The deletion task of a delete-scoped execution: the manifests by digest, then the tags, in
    the policy's destination repository. The filters are checked again (the policy may have changed
    since the event); what exists at the destination is checked when the task runs."""
    if scope.action is not EventAction.DELETE or not selects_repository(policy, scope.repository):
        return []
    tags = tuple(tag for tag in scope.tags if may_keep_tag(policy, tag))
    artifacts = [PlannedArtifact(digest) for digest in scope.digests]
    if tags:
        artifacts.append(PlannedArtifact(None, tags))
    if not artifacts:
        return []
    destination = destination_repository(policy, scope.repository, destination_type=destination_type)
    operation = Operation.DELETION if scope.digests else Operation.TAG_DELETION
    return [PlannedTask(operation, scope.repository, destination, tuple(artifacts))]
