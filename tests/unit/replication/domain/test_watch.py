"""The watcher's pure rules: which policies are watched, when a round is due, what a round found,
and the poll interval's validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ferry.oci.digest import Digest
from ferry.replication.domain.events import EventAction
from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.plan import SourceArtifact, SourceRepository
from ferry.replication.domain.policy import Filter, FilterType, Policy, Trigger, validate_policy
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.status import TriggerType
from ferry.replication.domain.watch import (
    DEFAULT_POLL_INTERVAL,
    MAX_SCOPED_REPOSITORIES,
    RoundState,
    compare,
    deletion_scopes,
    push_scopes,
    round_due,
    watch_interval,
)

SAVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
A, B, C = (Digest.of(text.encode()) for text in ("a", "b", "c"))


def a_policy(**fields: object) -> Policy:
    values: dict[str, object] = {
        "src_registry_id": 1,
        "dest_registry_id": 2,
        "filters": (Filter(FilterType.NAME, "library/**"), Filter(FilterType.TAG, "v*")),
        "trigger": Trigger(TriggerType.EVENT_BASED),
        **fields,
    }
    return Policy(id=7, name="watch", creation_time=SAVED, update_time=SAVED, **values)  # type: ignore[arg-type]


def listing(*entries: tuple[str, Digest, tuple[str, ...]]) -> list[SourceRepository]:
    by_name: dict[str, list[SourceArtifact]] = {}
    for name, digest, tags in entries:
        by_name.setdefault(name, []).append(SourceArtifact(digest, tags))
    return [SourceRepository(name, tuple(artifacts)) for name, artifacts in by_name.items()]


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({}, DEFAULT_POLL_INTERVAL),  # a remote source is watched by default
        ({"trigger": Trigger(TriggerType.EVENT_BASED, poll_interval=60)}, 60),
        ({"trigger": Trigger(TriggerType.EVENT_BASED, poll_interval=0)}, None),  # 0: webhooks only
        ({"src_registry_id": 0, "dest_registry_id": 2}, None),  # the local registry sends events
        ({"src_registry_id": 0, "trigger": Trigger(TriggerType.EVENT_BASED, poll_interval=45)}, 45),
        ({"enabled": False}, None),
        ({"trigger": Trigger()}, None),
        ({"trigger": Trigger(TriggerType.SCHEDULED, "0 0 2 * * *")}, None),
    ],
)
def test_which_policies_are_watched_and_how_often(fields: dict[str, object], seconds: int | None) -> None:
    interval = watch_interval(a_policy(**fields))
    assert interval == (None if seconds is None else timedelta(seconds=seconds))


def test_a_round_is_due_first_then_after_each_interval_and_after_every_change() -> None:
    policy = a_policy()
    now = SAVED + timedelta(hours=1)
    assert round_due(policy, None, now=now)
    assert round_due(policy, RoundState(), now=now)
    claimed = RoundState(round_time=now, round_version=SAVED)
    assert not round_due(policy, claimed, now=now + timedelta(seconds=DEFAULT_POLL_INTERVAL - 1))
    assert round_due(policy, claimed, now=now + timedelta(seconds=DEFAULT_POLL_INTERVAL))
    edited = replace(policy, update_time=now + timedelta(seconds=5))
    assert round_due(edited, claimed, now=now + timedelta(seconds=6))
    assert not round_due(replace(policy, enabled=False), None, now=now)


def test_compare_finds_new_and_moved_tags_and_tells_gone_from_filtered_out() -> None:
    policy = a_policy()
    baseline = {
        ("library/app", "v1"): A,  # unchanged
        ("library/app", "v2"): A,  # moved to B
        ("library/app", "v3"): C,  # gone
        ("library/app", "dev"): C,  # outside the tag filter now
        ("other/app", "v1"): C,  # outside the name filter now
    }
    now = listing(("library/app", A, ("v1",)), ("library/app", B, ("v2", "v4")), ("library/web", C, ("v1",)))
    comparison = compare(policy, baseline, now)
    assert comparison.pushed == {"library/app": ("v2", "v4"), "library/web": ("v1",)}
    assert comparison.gone == [("library/app", "v3")]
    assert comparison.forgotten == [("library/app", "dev"), ("other/app", "v1")]
    assert push_scopes(comparison) == [
        ExecutionScope(EventAction.PUSH, "library/app", ("v2", "v4")),
        ExecutionScope(EventAction.PUSH, "library/web", ("v1",)),
    ]


def test_nothing_changed_is_nothing_to_start() -> None:
    now = listing(("library/app", A, ("v1", "v2")))
    comparison = compare(a_policy(), {("library/app", "v1"): A, ("library/app", "v2"): A}, now)
    assert (comparison.pushed, comparison.gone, comparison.forgotten) == ({}, [], [])
    assert push_scopes(comparison) == []


def test_many_changed_repositories_start_one_full_run() -> None:
    names = [f"library/app{index}" for index in range(MAX_SCOPED_REPOSITORIES + 1)]
    comparison = compare(a_policy(), {}, listing(*((name, A, ("v1",)) for name in names)))
    assert push_scopes(comparison) == [None]


def test_a_digest_whose_tags_all_went_is_deleted_as_a_manifest() -> None:
    baseline = {("library/app", "v1"): A, ("library/app", "v2"): A, ("library/app", "v3"): B}
    current = {("library/app", "v3"): B}
    gone = [("library/app", "v1"), ("library/app", "v2")]
    assert deletion_scopes(baseline, current, gone) == [
        ExecutionScope(EventAction.DELETE, "library/app", (), (A,))
    ]


def test_a_gone_tag_whose_digest_keeps_another_tag_is_deleted_as_a_tag() -> None:
    baseline = {("library/app", "v1"): A, ("library/app", "v2"): A}
    current = {("library/app", "v2"): A}
    assert deletion_scopes(baseline, current, [("library/app", "v1")]) == [
        ExecutionScope(EventAction.DELETE, "library/app", ("v1",), ())
    ]


def test_a_digest_left_by_a_gone_tag_and_a_moved_one_is_deleted_as_a_manifest() -> None:
    baseline = {("library/app", "v1"): A, ("library/app", "v2"): A}
    current = {("library/app", "v2"): B}  # v2 moved to another image, v1 was deleted
    assert deletion_scopes(baseline, current, [("library/app", "v1")]) == [
        ExecutionScope(EventAction.DELETE, "library/app", (), (A,))
    ]


def test_a_tag_that_is_still_at_the_source_is_never_deleted() -> None:
    # v2 left the listing but a HEAD found it (a label filter dropped its new image): not confirmed
    baseline = {("library/app", "v1"): A, ("library/app", "v2"): A}
    assert deletion_scopes(baseline, {}, [("library/app", "v1")]) == [
        ExecutionScope(EventAction.DELETE, "library/app", ("v1",), ())
    ]
    assert deletion_scopes(baseline, {}, []) == []


@pytest.mark.parametrize("seconds", [0, 30, 300, 86_400])
def test_valid_poll_intervals(seconds: int) -> None:
    trigger = Trigger(TriggerType.EVENT_BASED, poll_interval=seconds)
    assert validate_policy(a_policy(trigger=trigger)).trigger.poll_interval == seconds


@pytest.mark.parametrize(
    ("trigger", "detail"),
    [
        (Trigger(TriggerType.EVENT_BASED, poll_interval=29), "29 s is out of range"),
        (Trigger(TriggerType.EVENT_BASED, poll_interval=-1), "out of range"),
        (Trigger(TriggerType.EVENT_BASED, poll_interval=86_401), "out of range"),
        (Trigger(TriggerType.MANUAL, poll_interval=60), "is set but the trigger is manual"),
        (Trigger(TriggerType.SCHEDULED, "0 0 2 * * *", poll_interval=60), "trigger is scheduled"),
    ],
)
def test_invalid_poll_intervals_name_the_field(trigger: Trigger, detail: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validate_policy(a_policy(trigger=trigger))
    assert raised.value.field == "trigger.poll_interval"
    assert detail in str(raised.value)
