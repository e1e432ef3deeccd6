"""Which event-based policies an event starts, with what scope, and the deletion a delete plans."""

from __future__ import annotations

from typing import Any

from ferry.replication.domain.events import ArtifactEvent, EventAction, EventSender
from ferry.replication.domain.plan import PlannedArtifact
from ferry.replication.domain.policy import Decoration, Filter, FilterType, Policy, Trigger
from ferry.replication.domain.scope import ExecutionScope, decide, plan_deletion
from ferry.replication.domain.status import Operation, TriggerType

from .builders import digest, name, valid_policy

EVENTS = Trigger(TriggerType.EVENT_BASED)


def event_policy(*filters: Filter, **fields: Any) -> Policy:
    return valid_policy(*filters, trigger=EVENTS, **fields)


def pushed(tag: str, repository: str = "library/web", *, key: str | None = None) -> ArtifactEvent:
    return ArtifactEvent(
        key=key or f"registry:{repository}:{tag}",
        sender=EventSender.REGISTRY,
        action=EventAction.PUSH,
        repository=repository,
        tag=tag,
        digest=digest(tag),
        registry_id=0,
    )


def deleted(
    *, tag: str | None = None, seed: str | None = None, repository: str = "library/web"
) -> ArtifactEvent:
    return ArtifactEvent(
        key=f"registry:delete:{tag}:{seed}",
        sender=EventSender.REGISTRY,
        action=EventAction.DELETE,
        repository=repository,
        tag=tag,
        digest=digest(seed) if seed else None,
        registry_id=0,
    )


def from_local(policy: Policy, event: ArtifactEvent) -> bool:
    return policy.src_registry_id == event.registry_id


def test_two_tags_pushed_together_start_one_execution_that_copies_both() -> None:
    policy = event_policy()

    decision = decide([policy], [pushed("v1"), pushed("latest")], is_source=from_local)

    [start] = decision.starts
    assert start.policy == policy
    assert start.scope == ExecutionScope(EventAction.PUSH, "library/web", ("latest", "v1"))
    assert decision.outcomes == [
        "push library/web:v1: replicated by rule 'push-prod'",
        "push library/web:latest: replicated by rule 'push-prod'",
    ]


def test_each_repository_and_each_policy_gets_its_own_execution() -> None:
    first, second = event_policy(id=1, name="a"), event_policy(id=2, name="b")

    decision = decide([first, second], [pushed("v1"), pushed("v1", "library/api")], is_source=from_local)

    assert sorted((start.policy.name, start.scope.repository) for start in decision.starts) == [
        ("a", "library/api"),
        ("a", "library/web"),
        ("b", "library/api"),
        ("b", "library/web"),
    ]


def test_only_enabled_event_based_policies_of_the_events_source_take_it() -> None:
    policies = [
        valid_policy(id=1, name="manual"),
        event_policy(id=2, name="disabled", enabled=False),
        event_policy(id=3, name="other-source", src_registry_id=4, dest_registry_id=1),
    ]

    decision = decide(policies, [pushed("v1")], is_source=from_local)

    assert decision.starts == []
    assert decision.outcomes == ["push library/web:v1: no event-based rule takes it"]


def test_name_and_tag_filters_decide_and_the_outcome_says_why() -> None:
    policies = [
        event_policy(name("library/api"), id=1, name="api-only"),
        event_policy(Filter(FilterType.TAG, "v*", Decoration.EXCLUDES), id=2, name="no-v"),
        event_policy(Filter(FilterType.TAG, "v*"), id=3, name="v-only"),
    ]

    decision = decide(policies, [pushed("v1")], is_source=from_local)

    assert [start.policy.name for start in decision.starts] == ["v-only"]
    [outcome] = decision.outcomes
    assert "replicated by rule 'v-only'" in outcome
    assert "rule 'api-only' does not select library/web (name filter)" in outcome
    assert "rule 'no-v' does not keep tag v1 (tag filter)" in outcome


def test_deletions_are_taken_only_with_deletion_on() -> None:
    off, on = event_policy(id=1, name="off"), event_policy(id=2, name="on", deletion=True)

    decision = decide(
        [off, on], [deleted(seed="web"), deleted(tag="v1"), deleted(tag="latest")], is_source=from_local
    )

    [start] = decision.starts
    assert start.policy.name == "on"
    assert start.scope == ExecutionScope(
        EventAction.DELETE, "library/web", ("latest", "v1"), (digest("web"),)
    )
    assert all("rule 'off' ignores deletions (deletion is off)" in outcome for outcome in decision.outcomes)


def test_pushes_and_deletions_of_one_repository_are_separate_executions() -> None:
    decision = decide(
        [event_policy(deletion=True)], [pushed("v2"), deleted(seed="old")], is_source=from_local
    )

    assert sorted(start.scope.action for start in decision.starts) == ["delete", "push"]


def test_a_scope_survives_json() -> None:
    scope = ExecutionScope(EventAction.DELETE, "library/web", ("v1",), (digest("a"), digest("b")))

    assert ExecutionScope.from_json(scope.to_json()) == scope


def test_a_deletion_plans_the_digests_then_the_tags_in_the_policys_namespace() -> None:
    policy = event_policy(dest_namespace="mirror", dest_namespace_replace_count=1, deletion=True)
    scope = ExecutionScope(EventAction.DELETE, "library/web", ("latest",), (digest("web"),))

    [task] = plan_deletion(policy, scope)

    assert (task.operation, task.source, task.destination) == (
        Operation.DELETION,
        "library/web",
        "mirror/web",
    )
    assert task.artifacts == (PlannedArtifact(digest("web")), PlannedArtifact(None, ("latest",)))
    assert task.references == (str(digest("web")), "latest")


def test_a_tag_only_deletion_is_a_tag_deletion_task() -> None:
    [task] = plan_deletion(
        event_policy(deletion=True), ExecutionScope(EventAction.DELETE, "library/web", ("v1",))
    )

    assert task.operation is Operation.TAG_DELETION
    assert task.references == ("v1",)


def test_a_deletion_outside_the_filters_plans_nothing() -> None:
    policy = event_policy(name("library/api"), Filter(FilterType.TAG, "v*"), deletion=True)

    assert plan_deletion(policy, ExecutionScope(EventAction.DELETE, "library/web", (), (digest("w"),))) == []
    assert plan_deletion(policy, ExecutionScope(EventAction.DELETE, "library/api", ("latest",))) == []
