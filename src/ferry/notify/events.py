"""What happened, in Harbor's words: an ended execution or task turned into an ``Announcement``
whose ``event_data`` is Harbor's replication payload (with ferry's additions), ready to be written
in any payload format (``payloads``).

Which event an ended execution raises for a policy (``execution_event_type``): at most one, so a
policy that selects both REPLICATION_FINISHED and REPLICATION_FAILED hears once per execution —
REPLICATION_FAILED when it failed, REPLICATION_FINISHED otherwise; a policy that selects only
REPLICATION_FINISHED hears of every end (failures too, with ``job_status`` "Failed"); one that
selects only REPLICATION_FAILED hears of failures only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferry.replication.domain.execution import Execution, Task
from ferry.replication.domain.policy import Policy
from ferry.replication.domain.registry import Registry
from ferry.replication.domain.status import ExecutionStatus, JobStatus
from ferry.replication.domain.webhooks import EventType, WebhookPolicy
from ferry.replication.engine.progress import ImageOutcome

MAX_ARTIFACTS = 100
"""Per list (successful, failed) in one payload; the counts tell the whole story."""
TEST_EVENT = "TEST"


@dataclass(frozen=True)
class Announcement:
    event_type: str
    """An ``EventType`` value, or ``TEST``."""
    occur_at: datetime
    operator: str
    event_data: dict[str, Any]
    headline: str
    """One line for people (Slack)."""
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplicationFacts:
    """Everything an announcement about one execution needs, loaded once."""

    execution: Execution
    tasks: tuple[Task, ...]
    policy: Policy
    source: Registry
    destination: Registry
    hostname: str


def execution_event_type(webhook: WebhookPolicy, execution: Execution) -> EventType | None:
    if execution.api_status is ExecutionStatus.FAILED and webhook.selects(EventType.REPLICATION_FAILED):
        return EventType.REPLICATION_FAILED
    if webhook.selects(EventType.REPLICATION_FINISHED):
        return EventType.REPLICATION_FINISHED
    return None


def execution_announcement(event_type: EventType, facts: ReplicationFacts) -> Announcement:
    execution, policy = facts.execution, facts.policy
    counts = execution.counts
    status = execution.api_status.value
    end = execution.end_time or execution.start_time
    seconds = max(0.0, (end - execution.start_time).total_seconds())
    replication = {
        **_common(facts, facts.tasks),
        "job_status": status,
        "artifact_type": "image",
        "successful_artifact": _artifacts(facts, facts.tasks, failed=False),
        "failed_artifact": _artifacts(facts, facts.tasks, failed=True),
        "execution_id": execution.id,
        "status_text": execution.status_text,
        "total": counts.total,
        "succeed": counts.succeed,
        "failed": counts.failed,
        "stopped": counts.stopped,
        "duration_seconds": round(seconds, 3),
        "bytes_copied": execution.bytes_copied,
    }
    verb = "failed" if execution.api_status is ExecutionStatus.FAILED else "finished"
    details = [
        f"{counts.total} task(s): {counts.succeed} succeeded, {counts.failed} failed, "
        f"{counts.stopped} stopped, in {seconds:.0f} s",
        f"{facts.source.name} → {facts.destination.name}",
    ]
    if execution.status_text:
        details.append(execution.status_text)
    details.extend(f"failed: {item['name_tag']}" for item in replication["failed_artifact"][:10])
    return Announcement(
        event_type=event_type.value,
        occur_at=end,
        operator=execution.trigger.value,
        event_data={"replication": replication},
        headline=f"Replication rule {policy.name!r} {verb}: {status} (execution {execution.id})",
        details=tuple(details),
    )


def task_announcement(task: Task, facts: ReplicationFacts) -> Announcement:
    """Harbor's REPLICATION event for one task that ended."""
    replication = {
        **_common(facts, [task]),
        "job_status": task.status.value,
        "artifact_type": task.resource_type,
        "successful_artifact": _artifacts(facts, [task], failed=False),
        "failed_artifact": _artifacts(facts, [task], failed=True),
        "execution_id": task.execution_id,
        "task_id": task.id,
        "status_text": task.status_text,
    }
    return Announcement(
        event_type=EventType.REPLICATION.value,
        occur_at=task.end_time or facts.execution.start_time,
        operator=facts.execution.trigger.value,
        event_data={"replication": replication},
        headline=f"Replication rule {facts.policy.name!r}, task {task.id}: {task.api_status.value}",
        details=(
            f"{task.src_resource} → {task.dst_resource}",
            *([task.status_text] if task.status_text else []),
        ),
    )


def trial_announcement(webhook: WebhookPolicy, *, hostname: str, now: datetime) -> Announcement:
    message = f"test event from ferry for the webhook policy {webhook.name!r}"
    return Announcement(
        event_type=TEST_EVENT,
        occur_at=now,
        operator="admin",
        event_data={
            "harbor_hostname": hostname,
            "message": message,
            "webhook_policy": {"id": webhook.id, "name": webhook.name},
        },
        headline=f"ferry: {message}",
    )


def _common(facts: ReplicationFacts, tasks: Sequence[Task]) -> dict[str, Any]:
    policy, execution = facts.policy, facts.execution
    remote = facts.destination if not facts.destination.is_local else facts.source
    credential = remote.credential
    return {
        "harbor_hostname": facts.hostname,
        "description": policy.description,
        "authentication_type": credential.type.value if credential else "",
        "override_mode": policy.override,
        "trigger_type": execution.trigger.value,
        "policy_creator": policy.creator,
        "execution_timestamp": int(execution.start_time.timestamp()),
        "src_resource": _resource(facts.source, [task.source_repository for task in tasks], ""),
        "dest_resource": _resource(
            facts.destination, [task.destination_repository for task in tasks], policy.dest_namespace
        ),
        "policy_id": policy.id,
        "policy_name": policy.name,
    }


def _resource(registry: Registry, repositories: Iterable[str], fallback: str) -> dict[str, Any]:
    """Harbor's ``{registry_name, registry_type, endpoint, namespace}``; the namespace is the first
    path component the repositories share."""
    firsts = {repository.split("/", 1)[0] for repository in repositories if "/" in repository}
    return {
        "registry_name": registry.name,
        "registry_type": registry.type.value,
        "endpoint": registry.url,
        "namespace": firsts.pop() if len(firsts) == 1 else fallback,
    }


def _artifacts(facts: ReplicationFacts, tasks: Iterable[Task], *, failed: bool) -> list[dict[str, Any]]:
    """Harbor's ``[{type, status, name_tag}]`` per tag (or digest), named on the local side as
    Harbor does (the source for remote → remote)."""
    found: list[dict[str, Any]] = []
    for task in tasks:
        repository = task.destination_repository if facts.destination.is_local else task.source_repository
        for artifact in task.artifacts:
            for reference in artifact.references:
                outcome = task.results.get(reference)
                if _failed(task, outcome) != failed or (not failed and outcome is None):
                    continue
                separator = "@" if reference.startswith("sha256:") else ":"
                item: dict[str, Any] = {
                    "type": task.resource_type,
                    "status": (JobStatus.ERROR if failed else JobStatus.SUCCESS).value,
                    "name_tag": f"{repository}{separator}{reference}",
                }
                if failed and task.status_text:
                    item["fail_reason"] = task.status_text
                found.append(item)
                if len(found) == MAX_ARTIFACTS:
                    return found
    return found


def _failed(task: Task, outcome: ImageOutcome | None) -> bool:
    """An item failed when its outcome says so, or when its task failed before settling it."""
    if outcome is None:
        return task.status is JobStatus.ERROR
    return outcome is ImageOutcome.FAILED
