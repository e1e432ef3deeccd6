"""Watching a source that sends no events: which policies are watched, when a round is due, and
what a round found (pure rules; ``jobs.watcher`` lists the source and starts the executions).

An enabled ``event_based`` policy whose source is a remote registry is watched every
``trigger.poll_interval`` seconds (default ``DEFAULT_POLL_INTERVAL``); ``poll_interval: 0`` turns
that off (a Harbor that sends its webhooks needs no watching). A policy whose source is the local
registry is watched only when it names an interval: the managed local registry sends events.

A round lists the source through the policy's filters and compares each ``(repository, tag)``'s
digest with the previous round's (the baseline). The first round after the policy was created or
changed (``update_time``, enabling included) is **full**: it runs the whole policy once, to bring
the destination in line, and takes a new baseline. Later rounds start executions for what changed:

- a new tag, or a tag whose digest changed: an execution scoped to the repository's changed tags;
  when more than ``MAX_SCOPED_REPOSITORIES`` repositories changed, one full run instead;
- a tag that is gone (confirmed by the caller at the source: a listing can miss a tag that merely
  left a label filter), with ``deletion`` on: a deletion scoped to the repository. A digest whose
  every tag is gone or moved elsewhere is deleted as a manifest (so two tags of one image that both
  went do not keep each other); the other gone tags as tags. The deletion path checks the policy's
  filters and namespace again at the destination.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ferry.oci.digest import Digest
from ferry.replication.domain.events import EventAction
from ferry.replication.domain.plan import SourceRepository, may_keep_tag, selects_repository
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.status import TriggerType

DEFAULT_POLL_INTERVAL = 300
"""Seconds; a few requests per tag every five minutes is gentle on a remote registry."""
MAX_SCOPED_REPOSITORIES = 20
"""More changed repositories than this in one round start one full run, not one execution each."""

TagKey = tuple[str, str]
"""``(repository, tag)`` at the source."""


def watch_interval(policy: Policy) -> timedelta | None:
    """How often ``policy``'s source is watched, or None when it is not."""
    if not policy.enabled or policy.trigger.type is not TriggerType.EVENT_BASED:
        return None
    seconds = policy.trigger.poll_interval
    if seconds is None:
        seconds = 0 if policy.src_registry_id == LOCAL_REGISTRY_ID else DEFAULT_POLL_INTERVAL
    return timedelta(seconds=seconds) if seconds else None


@dataclass(frozen=True)
class RoundState:
    """A policy's last claimed round: when, and for which version (``update_time``) of the policy."""

    round_time: datetime | None = None
    round_version: datetime | None = None


def round_due(policy: Policy, state: RoundState | None, *, now: datetime) -> bool:
    """Whether a round of ``policy`` is due at ``now``: it never had one, it changed since its
    last round, or its interval has passed."""
    interval = watch_interval(policy)
    if interval is None:
        return False
    if state is None or state.round_time is None or state.round_version != policy.update_time:
        return True
    return state.round_time + interval <= now


@dataclass(frozen=True)
class Comparison:
    """The source now against the baseline."""

    current: dict[TagKey, Digest]
    pushed: dict[str, tuple[str, ...]]
    """repository → its new tags and those whose digest changed."""
    gone: list[TagKey]
    """Baseline tags the listing no longer has and the policy still covers."""
    forgotten: list[TagKey]
    """Baseline tags the policy's filters no longer cover: dropped without deleting anything."""


def current_tags(listing: Sequence[SourceRepository]) -> dict[TagKey, Digest]:
    return {
        (repository.name, tag): artifact.digest
        for repository in listing
        for artifact in repository.artifacts
        for tag in artifact.tags
    }


def compare(
    policy: Policy, baseline: Mapping[TagKey, Digest], listing: Sequence[SourceRepository]
) -> Comparison:
    current = current_tags(listing)
    pushed: dict[str, list[str]] = {}
    for (repository, tag), digest in sorted(current.items()):
        if baseline.get((repository, tag)) != digest:
            pushed.setdefault(repository, []).append(tag)
    gone: list[TagKey] = []
    forgotten: list[TagKey] = []
    for key in sorted(set(baseline) - set(current)):
        repository, tag = key
        covered = selects_repository(policy, repository) and may_keep_tag(policy, tag)
        (gone if covered else forgotten).append(key)
    return Comparison(current, {name: tuple(tags) for name, tags in pushed.items()}, gone, forgotten)


def push_scopes(comparison: Comparison) -> list[ExecutionScope | None]:
    """The executions that copy what changed: one per repository, or one full run (None)."""
    if len(comparison.pushed) > MAX_SCOPED_REPOSITORIES:
        return [None]
    return [ExecutionScope(EventAction.PUSH, name, tags) for name, tags in sorted(comparison.pushed.items())]


def deletion_scopes(
    baseline: Mapping[TagKey, Digest], current: Mapping[TagKey, Digest], confirmed: Collection[TagKey]
) -> list[ExecutionScope]:
    """The deletions of the ``confirmed`` gone tags, one execution per repository: a digest none
    of whose baseline tags is still on it (each is gone or moved) as a manifest, the rest as tags."""
    scopes = []
    for repository in sorted({name for name, _ in confirmed}):
        tags_of: dict[Digest, list[str]] = {}
        for (name, tag), digest in baseline.items():
            if name == repository:
                tags_of.setdefault(digest, []).append(tag)
        still_there = {digest for (name, _), digest in current.items() if name == repository}
        digests, tags = [], []
        for digest, baseline_tags in sorted(tags_of.items(), key=lambda item: str(item[0])):
            mine = sorted(tag for tag in baseline_tags if (repository, tag) in confirmed)
            if not mine:
                continue
            left = all(
                (repository, tag) in confirmed or (repository, tag) in current for tag in baseline_tags
            )
            if left and digest not in still_there:
                digests.append(digest)
            else:
                tags.extend(mine)
        scopes.append(ExecutionScope(EventAction.DELETE, repository, tuple(sorted(tags)), tuple(digests)))
    return scopes
