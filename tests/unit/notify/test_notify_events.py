"""Which event an ended execution raises for a policy, what Harbor's payload says about the
artifacts, the payload formats, and the retry delays: pure rules, many cases."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ferry.notify.delivery import RetrySchedule
from ferry.notify.events import (
    ReplicationFacts,
    execution_announcement,
    execution_event_type,
    task_announcement,
)
from ferry.notify.payloads import content_type, render, slack_body
from ferry.oci.digest import Digest
from ferry.replication.domain.execution import Execution, Phase, Task
from ferry.replication.domain.plan import PlannedArtifact
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Credential, CredentialType, Registry, RegistryType
from ferry.replication.domain.status import ExecutionCounts, JobStatus, Operation, TriggerType
from ferry.replication.domain.webhooks import (
    EventType,
    PayloadFormat,
    TargetType,
    WebhookPolicy,
    WebhookTarget,
)
from ferry.replication.engine.progress import ImageOutcome

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
DIGEST = Digest.parse("sha256:" + "b" * 64)
FINISHED, FAILED, TASKS = EventType.REPLICATION_FINISHED, EventType.REPLICATION_FAILED, EventType.REPLICATION


def a_webhook(*events: EventType) -> WebhookPolicy:
    return WebhookPolicy(
        id=3,
        name="ops",
        event_types=events,
        targets=(WebhookTarget(address="https://hooks.example.com"),),
        creation_time=NOW,
        update_time=NOW,
    )


def an_execution(status: JobStatus) -> Execution:
    return Execution(
        id=12,
        policy_id=1,
        status=status,
        trigger=TriggerType.SCHEDULED,
        phase=Phase.FINISHED,
        start_time=NOW,
        end_time=NOW + timedelta(seconds=42),
        counts=ExecutionCounts(total=2, succeed=1, failed=1),
    )


@pytest.mark.parametrize(
    ("selected", "status", "expected"),
    [
        ((FINISHED, FAILED), JobStatus.SUCCESS, FINISHED),
        ((FINISHED, FAILED), JobStatus.ERROR, FAILED),
        ((FINISHED, FAILED), JobStatus.STOPPED, FINISHED),
        ((FINISHED,), JobStatus.ERROR, FINISHED),
        ((FINISHED,), JobStatus.STOPPED, FINISHED),
        ((FAILED,), JobStatus.ERROR, FAILED),
        ((FAILED,), JobStatus.SUCCESS, None),
        ((FAILED,), JobStatus.STOPPED, None),
        ((TASKS,), JobStatus.SUCCESS, None),
        ((TASKS,), JobStatus.ERROR, None),
    ],
)
def test_an_ended_execution_raises_at_most_one_event_per_policy(
    selected: tuple[EventType, ...], status: JobStatus, expected: EventType | None
) -> None:
    assert execution_event_type(a_webhook(*selected), an_execution(status)) is expected


def registry(name: str, registry_id: int, url: str = "https://r.example.com") -> Registry:
    return Registry(
        id=registry_id,
        name=name,
        type=RegistryType.HARBOR,
        url=url,
        credential=Credential(CredentialType.OAUTH, "", "token"),
        creation_time=NOW,
        update_time=NOW,
    )


def a_task(status: JobStatus, results: dict[str, ImageOutcome], *, text: str = "") -> Task:
    return Task(
        id=57,
        execution_id=12,
        status=status,
        status_text=text,
        operation=Operation.COPY,
        resource_type="image",
        source_repository="prod/web",
        destination_repository="library/web",
        src_resource="prod/web [3 item(s) in total]",
        dst_resource="library/web [3 item(s) in total]",
        artifacts=(PlannedArtifact(DIGEST, ("v1", "v2")), PlannedArtifact(DIGEST)),
        results=results,
        end_time=NOW + timedelta(seconds=40),
    )


def pull_facts(*tasks: Task, status: JobStatus = JobStatus.ERROR) -> ReplicationFacts:
    """A pull rule: remote Harbor → Local."""
    policy = Policy(
        id=1, name="pull-prod", src_registry_id=4, dest_registry_id=0, creation_time=NOW, update_time=NOW
    )
    return ReplicationFacts(
        execution=an_execution(status),
        tasks=tasks,
        policy=policy,
        source=registry("harbor-prod", 4),
        destination=registry("Local", 0, "http://127.0.0.1:5000"),
        hostname="ferry.example.com",
    )


def test_artifacts_are_named_on_the_local_side_with_their_outcome() -> None:
    task = a_task(
        JobStatus.ERROR,
        {"v1": ImageOutcome.COPIED, "v2": ImageOutcome.FAILED},
        text="1 item(s) failed",
    )
    replication = execution_announcement(FAILED, pull_facts(task)).event_data["replication"]
    assert replication["successful_artifact"] == [
        {"type": "image", "status": "Success", "name_tag": "library/web:v1"}
    ]
    assert replication["failed_artifact"] == [
        {"type": "image", "status": "Error", "name_tag": "library/web:v2", "fail_reason": "1 item(s) failed"},
        {
            "type": "image",
            "status": "Error",
            "name_tag": f"library/web@{DIGEST}",
            "fail_reason": "1 item(s) failed",
        },
    ]
    assert replication["authentication_type"] == "oauth"
    assert replication["src_resource"]["namespace"] == "prod"
    assert replication["dest_resource"] == {
        "registry_name": "Local",
        "registry_type": "harbor",
        "endpoint": "http://127.0.0.1:5000",
        "namespace": "library",
    }
    assert replication["duration_seconds"] == 42.0


def test_items_a_stopped_task_never_reached_are_neither_successful_nor_failed() -> None:
    task = a_task(JobStatus.STOPPED, {"v1": ImageOutcome.UP_TO_DATE})
    replication = task_announcement(task, pull_facts(task)).event_data["replication"]
    assert [item["name_tag"] for item in replication["successful_artifact"]] == ["library/web:v1"]
    assert replication["failed_artifact"] == []
    assert (replication["job_status"], replication["task_id"]) == ("Stopped", 57)


def test_the_three_formats() -> None:
    announcement = execution_announcement(FAILED, pull_facts(a_task(JobStatus.ERROR, {})))
    http = WebhookTarget(address="https://h.example")
    cloud = WebhookTarget(address="https://h.example", payload_format=PayloadFormat.CLOUD_EVENTS)
    slack = WebhookTarget(type=TargetType.SLACK, address="https://h.example")

    default = json.loads(render(http, announcement, policy_id=3))
    assert (default["type"], default["occur_at"], default["operator"]) == (
        "REPLICATION_FAILED",
        int((NOW + timedelta(seconds=42)).timestamp()),
        "scheduled",
    )
    event = json.loads(render(cloud, announcement, policy_id=3))
    assert (event["type"], event["source"], event["time"]) == (
        "ferry.replication.failed",
        "/webhook/policies/3",
        "2026-12-02T15:00:42Z",
    )
    assert event["data"] == default["event_data"]
    assert [content_type(target) for target in (http, cloud, slack)] == [
        "application/json",
        "application/cloudevents+json",
        "application/json",
    ]
    message = json.loads(render(slack, announcement, policy_id=3))
    assert message["text"] == "Replication rule 'pull-prod' failed: Failed (execution 12)"


def test_slack_text_escapes_its_control_characters() -> None:
    announcement = execution_announcement(FINISHED, pull_facts(status=JobStatus.SUCCESS))
    shown = slack_body(replace(announcement, details=("a <b> & c",)))
    assert "a &lt;b&gt; &amp; c" in shown["blocks"][0]["text"]["text"]


@pytest.mark.parametrize(
    ("attempts_made", "delay"), [(1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, None), (9, None)]
)
def test_retries_double_from_ten_seconds_for_five_attempts(attempts_made: int, delay: float | None) -> None:
    assert RetrySchedule().delay(attempts_made) == delay


def test_retry_delays_are_capped() -> None:
    schedule = RetrySchedule(attempts=20, first_delay=10, max_delay=300)
    assert [schedule.delay(n) for n in (5, 6, 10)] == [160.0, 300.0, 300.0]
