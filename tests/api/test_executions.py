"""``/replication/executions``: starting rules that really copy between real registries (the
dispatcher runs in the background), their tasks and logs, filters, stop, retry, the preconditions
(disabled rule, single active replication, deleting a rule that runs)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import (
    API,
    BOTH_DATABASES,
    HangingRegistry,
    Json,
    create_policy,
    create_registry,
    error_message,
    finished_execution,
    get_json,
    poll,
    seed_image,
    start_execution,
)
from tests.support.client import manifest_digest
from tests.support.registry import RegistryServer

HARBOR_EXECUTION_FIELDS = {
    "id",
    "policy_id",
    "status",
    "status_text",
    "trigger",
    "total",
    "succeed",
    "failed",
    "in_progress",
    "stopped",
    "start_time",
    "end_time",
}
HARBOR_TASK_FIELDS = {
    "id",
    "execution_id",
    "status",
    "job_id",
    "operation",
    "resource_type",
    "src_resource",
    "dst_resource",
    "start_time",
    "end_time",
}
SKIPPED = "Execution skipped: active replication still in progress."


def counts(execution: Json) -> dict[str, int]:
    return {key: execution[key] for key in ("total", "succeed", "failed", "in_progress", "stopped")}


async def tasks_of(api: httpx.AsyncClient, execution_id: int) -> list[Json]:
    tasks: list[Json] = await get_json(api, f"/replication/executions/{execution_id}/tasks")
    return tasks


@pytest.fixture
def images(registry: RegistryServer) -> dict[str, str]:
    """library/hello:v1 and :v2 in the local registry; their digests."""
    return {
        "v1": seed_image(registry, "library/hello", "v1", seed=1),
        "v2": seed_image(registry, "library/hello", "v2", seed=2),
    }


@pytest.fixture
async def push_rule(api: httpx.AsyncClient, registry_b: RegistryServer, images: dict[str, str]) -> int:
    """Local library/** → registry_b under mirror/ (replace count 1: library/hello → mirror/hello)."""
    dest = await create_registry(api, "b", registry_b.url)
    return await create_policy(api, "push-to-b", dest, filters=[{"type": "name", "value": "library/**"}])


@pytest.fixture
async def stuck(api: httpx.AsyncClient, hanging: HangingRegistry, images: dict[str, str]) -> int:
    """A single-active rule whose destination never answers a copy: its execution stays running."""
    dest = await create_registry(api, "stuck", hanging.url)
    assert (await get_json(api, f"/registries/{dest}"))["status"] == "healthy"
    return await create_policy(api, "stuck-rule", dest, single_active_replication=True)


async def running(api: httpx.AsyncClient, hanging: HangingRegistry, policy_id: int) -> int:
    """Start ``policy_id`` and wait until its task is copying (held by the hanging registry)."""
    execution_id = await start_execution(api, policy_id)
    await poll(
        lambda: get_json(api, f"/replication/executions/{execution_id}"),
        lambda execution: execution["in_progress"] == 1 and bool(hanging.held),
        what="the copy to reach the hanging registry",
    )
    return execution_id


@BOTH_DATABASES
async def test_an_execution_copies_and_reports_like_harbor(
    api: httpx.AsyncClient, push_rule: int, images: dict[str, str], registry_b: RegistryServer
) -> None:
    response = await api.post(f"{API}/replication/executions", json={"policy_id": push_rule})
    assert response.status_code == 201, response.text
    assert response.content == b""
    location = response.headers["location"]
    assert re.fullmatch(rf"{API}/replication/executions/\d+", location)
    execution_id = int(location.rsplit("/", 1)[1])

    execution = await finished_execution(api, execution_id)
    assert HARBOR_EXECUTION_FIELDS.issubset(execution)
    assert execution["id"] == execution_id
    assert execution["policy_id"] == push_rule
    assert execution["status"] == "Succeed", execution
    assert execution["trigger"] == "manual"
    assert isinstance(execution["status_text"], str)
    assert counts(execution) == {"total": 1, "succeed": 1, "failed": 0, "in_progress": 0, "stopped": 0}
    assert execution["start_time"].endswith("Z")
    assert execution["end_time"].endswith("Z")
    assert execution["end_time"] >= execution["start_time"]
    for tag, digest in images.items():
        assert manifest_digest(registry_b, "mirror/hello", tag) == digest

    listed = await api.get(f"{API}/replication/executions/{execution_id}/tasks")
    assert listed.status_code == 200
    assert listed.headers["x-total-count"] == "1"
    (task,) = listed.json()
    assert HARBOR_TASK_FIELDS.issubset(task)
    assert task["execution_id"] == execution_id
    assert task["status"] == "Succeed"
    assert task["operation"] == "copy"
    assert task["resource_type"] == "image"
    assert task["src_resource"] == "library/hello [2 item(s) in total]"
    assert task["dst_resource"] == "mirror/hello [2 item(s) in total]"
    assert task["job_id"]
    assert task["start_time"].endswith("Z")
    assert task["end_time"].endswith("Z")

    log = await api.get(f"{API}/replication/executions/{execution_id}/tasks/{task['id']}/log")
    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/plain")
    lines = log.text.splitlines()
    assert lines
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[[A-Z]+\] ", line) for line in lines), lines
    assert "v1" in log.text
    assert "v2" in log.text
    cursor = int(log.headers["x-log-cursor"])

    nothing_new = await api.get(
        f"{API}/replication/executions/{execution_id}/tasks/{task['id']}/log", params={"after": cursor}
    )
    assert nothing_new.status_code == 200
    assert nothing_new.text == ""
    assert nothing_new.headers["x-log-cursor"] == str(cursor)
    last_only = await api.get(
        f"{API}/replication/executions/{execution_id}/tasks/{task['id']}/log", params={"after": cursor - 1}
    )
    assert last_only.text.splitlines() == lines[-1:]
    assert last_only.headers["x-log-cursor"] == str(cursor)

    by_status = await get_json(api, f"/replication/executions/{execution_id}/tasks?status=Succeed")
    assert [item["id"] for item in by_status] == [task["id"]]
    assert await get_json(api, f"/replication/executions/{execution_id}/tasks?status=Failed") == []
    assert await get_json(api, f"/replication/executions/{execution_id}/tasks?resource_type=artifact") == []
    bad_status = await api.get(f"{API}/replication/executions/{execution_id}/tasks?status=Done")
    assert error_message(bad_status, 400, "BAD_REQUEST").startswith("status")


async def test_a_rule_with_nothing_to_copy_succeeds_with_harbors_text(
    api: httpx.AsyncClient, registry_b: RegistryServer, images: dict[str, str]
) -> None:
    dest = await create_registry(api, "b", registry_b.url)
    policy_id = await create_policy(api, "nothing", dest, filters=[{"type": "name", "value": "nothing/**"}])
    execution = await finished_execution(api, await start_execution(api, policy_id))
    assert execution["status"] == "Succeed"
    assert execution["status_text"].startswith("no resources need to be replicated")
    assert counts(execution) == {"total": 0, "succeed": 0, "failed": 0, "in_progress": 0, "stopped": 0}


@BOTH_DATABASES
async def test_list_filters_a_failed_run_and_retry(
    api: httpx.AsyncClient, push_rule: int, basic_registry: RegistryServer, images: dict[str, str]
) -> None:
    assert basic_registry.username is not None
    wrong = {"type": "basic", "access_key": basic_registry.username, "access_secret": "wrong-password"}
    locked = await create_registry(api, "locked", basic_registry.url, credential=wrong)
    failing_rule = await create_policy(api, "push-to-locked", locked)

    good = await finished_execution(api, await start_execution(api, push_rule))
    failed = await finished_execution(api, await start_execution(api, failing_rule))
    assert good["status"] == "Succeed"
    assert failed["status"] == "Failed", failed
    assert counts(failed) == {"total": 1, "succeed": 0, "failed": 1, "in_progress": 0, "stopped": 0}
    (failed_task,) = await tasks_of(api, failed["id"])
    assert failed_task["status"] == "Failed"
    failed_log = await api.get(f"{API}/replication/executions/{failed['id']}/tasks/{failed_task['id']}/log")
    assert "HTTP 401; check the credentials" in failed_log.text

    async def ids(query: str) -> list[int]:
        response = await api.get(f"{API}/replication/executions?{query}")
        assert response.status_code == 200, response.text
        assert response.headers["x-total-count"] == str(len(response.json()))
        return [item["id"] for item in response.json()]

    assert await ids("") == [failed["id"], good["id"]]  # newest first
    assert await ids(f"policy_id={push_rule}") == [good["id"]]
    assert await ids(f"policy_id={failing_rule}") == [failed["id"]]
    assert await ids("status=Succeed") == [good["id"]]
    assert await ids("status=Failed") == [failed["id"]]
    assert await ids("status=InProgress") == []
    assert await ids("trigger=manual") == [failed["id"], good["id"]]
    assert await ids("trigger=scheduled") == []
    assert await ids(f"policy_id={failing_rule}&status=Succeed") == []
    assert await ids("q=status%3DFailed") == [failed["id"]]
    for query, field in (
        ("status=Done", "status"),
        ("status=succeed", "status"),
        ("trigger=hourly", "trigger"),
    ):
        response = await api.get(f"{API}/replication/executions?{query}")
        assert error_message(response, 400, "BAD_REQUEST").startswith(field), query

    # fix the credentials, then run only what failed again
    fixed = await api.put(f"{API}/registries/{locked}", json={"access_secret": basic_registry.password})
    assert fixed.status_code == 200
    retried = await api.post(f"{API}/replication/executions/{failed['id']}/retry")
    assert retried.status_code == 201, retried.text
    assert retried.content == b""
    again_id = int(retried.headers["location"].removeprefix(f"{API}/replication/executions/"))
    again = await finished_execution(api, again_id)
    (again_task,) = await tasks_of(api, again_id)
    again_log = await api.get(f"{API}/replication/executions/{again_id}/tasks/{again_task['id']}/log")
    assert again["status"] == "Succeed", (again, again_task, again_log.text, failed_log.text)
    assert again["policy_id"] == failing_rule
    assert counts(again) == {"total": 1, "succeed": 1, "failed": 0, "in_progress": 0, "stopped": 0}
    assert manifest_digest(basic_registry, "mirror/hello", "v1") == images["v1"]

    nothing_to_retry = await api.post(f"{API}/replication/executions/{good['id']}/retry")
    assert "no failed or stopped tasks" in error_message(nothing_to_retry, 412, "PRECONDITION")
    error_message(await api.post(f"{API}/replication/executions/999/retry"), 404, "NOT_FOUND")


async def test_a_disabled_rule_cannot_be_started(api: httpx.AsyncClient, registry_b: RegistryServer) -> None:
    dest = await create_registry(api, "b", registry_b.url)
    policy_id = await create_policy(api, "off", dest, enabled=False)
    response = await api.post(f"{API}/replication/executions", json={"policy_id": policy_id})
    assert "'off' is disabled" in error_message(response, 412, "PRECONDITION")
    assert await get_json(api, "/replication/executions") == []


async def test_start_refuses_unknown_rules_and_bad_bodies(api: httpx.AsyncClient) -> None:
    unknown = await api.post(f"{API}/replication/executions", json={"policy_id": 999})
    assert "replication rule 999 not found" in error_message(unknown, 404, "NOT_FOUND")
    for body, start in (
        ({}, "policy_id: field required"),
        ({"policy_id": "1"}, "policy_id"),
        ({"policy_id": 1, "trigger": "manual"}, "trigger: unknown field"),
    ):
        response = await api.post(f"{API}/replication/executions", json=body)
        assert error_message(response, 400, "BAD_REQUEST").startswith(start)
    assert await get_json(api, "/replication/executions") == []


async def test_unknown_executions_and_tasks_are_404(api: httpx.AsyncClient, push_rule: int) -> None:
    for method, path in (
        ("GET", "/replication/executions/999"),
        ("PUT", "/replication/executions/999"),
        ("GET", "/replication/executions/999/tasks"),
        ("GET", "/replication/executions/999/tasks/1/log"),
    ):
        response = await api.request(method, f"{API}{path}")
        assert "execution 999" in error_message(response, 404, "NOT_FOUND"), path

    first = await finished_execution(api, await start_execution(api, push_rule))
    second = await finished_execution(api, await start_execution(api, push_rule))
    (first_task,) = await tasks_of(api, first["id"])
    (second_task,) = await tasks_of(api, second["id"])
    own = await api.get(f"{API}/replication/executions/{second['id']}/tasks/{second_task['id']}/log")
    assert own.status_code == 200
    other = await api.get(f"{API}/replication/executions/{second['id']}/tasks/{first_task['id']}/log")
    error_message(other, 404, "NOT_FOUND")
    missing = await api.get(f"{API}/replication/executions/{second['id']}/tasks/999/log")
    error_message(missing, 404, "NOT_FOUND")


@BOTH_DATABASES
async def test_stop_ends_a_running_execution_stopped(
    api: httpx.AsyncClient, hanging: HangingRegistry, stuck: int
) -> None:
    execution_id = await running(api, hanging, stuck)
    (task,) = await tasks_of(api, execution_id)
    assert task["status"] == "InProgress"
    assert await get_json(api, "/replication/executions?status=InProgress") == [
        await get_json(api, f"/replication/executions/{execution_id}")
    ]

    response = await api.put(f"{API}/replication/executions/{execution_id}", json={"status": "Stopped"})
    assert response.status_code == 200, response.text
    execution = await finished_execution(api, execution_id)
    assert execution["status"] == "Stopped", execution
    assert counts(execution) == {"total": 1, "succeed": 0, "failed": 0, "in_progress": 0, "stopped": 1}
    assert execution["end_time"] is not None
    (task,) = await tasks_of(api, execution_id)
    assert task["status"] == "Stopped"

    # stopping what has ended changes nothing
    assert (await api.put(f"{API}/replication/executions/{execution_id}")).status_code == 200
    assert (await get_json(api, f"/replication/executions/{execution_id}"))["status"] == "Stopped"


@BOTH_DATABASES
async def test_a_rule_with_a_running_execution_cannot_be_deleted(
    api: httpx.AsyncClient, hanging: HangingRegistry, stuck: int
) -> None:
    execution_id = await running(api, hanging, stuck)
    refused = await api.delete(f"{API}/replication/policies/{stuck}")
    message = error_message(refused, 412, "PRECONDITION")
    assert "stuck-rule" in message
    assert str(execution_id) in message
    assert (await api.get(f"{API}/replication/policies/{stuck}")).status_code == 200

    await api.put(f"{API}/replication/executions/{execution_id}")
    await finished_execution(api, execution_id)
    assert (await api.delete(f"{API}/replication/policies/{stuck}")).status_code == 200
    assert await get_json(api, "/replication/policies") == []
    assert await get_json(api, "/replication/executions") == []  # its executions went with it


async def test_single_active_replication_records_a_second_start_as_skipped(
    api: httpx.AsyncClient, hanging: HangingRegistry, stuck: int
) -> None:
    first = await running(api, hanging, stuck)
    response = await api.post(f"{API}/replication/executions", json={"policy_id": stuck})
    assert response.status_code == 201, response.text
    second = int(response.headers["location"].rsplit("/", 1)[1])
    assert second != first
    skipped = await get_json(api, f"/replication/executions/{second}")
    assert skipped["status"] == "Failed"
    assert skipped["status_text"] == SKIPPED
    assert skipped["end_time"] is not None
    assert await tasks_of(api, second) == []
    assert (await get_json(api, f"/replication/executions/{first}"))["status"] == "InProgress"
    await api.put(f"{API}/replication/executions/{first}")
    assert (await finished_execution(api, first))["status"] == "Stopped"

    # once the first has ended, the rule runs again
    third = await start_execution(api, stuck)
    assert (await get_json(api, f"/replication/executions/{third}"))["status"] == "InProgress"
    await api.put(f"{API}/replication/executions/{third}")
    assert (await finished_execution(api, third))["status"] == "Stopped"


async def test_a_stopped_execution_can_be_retried(
    api: httpx.AsyncClient, hanging: HangingRegistry, stuck: int
) -> None:
    first = await running(api, hanging, stuck)
    await api.put(f"{API}/replication/executions/{first}")
    await finished_execution(api, first)
    response = await api.post(f"{API}/replication/executions/{first}/retry")
    assert response.status_code == 201, response.text
    again = int(response.headers["location"].rsplit("/", 1)[1])
    retried = await get_json(api, f"/replication/executions/{again}")
    assert retried["policy_id"] == stuck
    assert retried["total"] == 1
    still_running = await api.post(f"{API}/replication/executions/{again}/retry")
    assert "still running" in error_message(still_running, 412, "PRECONDITION")
    await api.put(f"{API}/replication/executions/{again}")
    assert (await finished_execution(api, again))["status"] == "Stopped"


async def test_a_rule_copies_every_tag_to_a_registry_that_needs_credentials(
    api: httpx.AsyncClient, basic_registry: RegistryServer, registry: RegistryServer
) -> None:
    tags = {
        f"v{index}": seed_image(registry, "library/many", f"v{index}", seed=10 + index) for index in range(6)
    }
    credential = {
        "type": "basic",
        "access_key": basic_registry.username,
        "access_secret": basic_registry.password,
    }
    dest = await create_registry(api, "locked", basic_registry.url, credential=credential)
    policy_id = await create_policy(
        api, "push-many", dest, filters=[{"type": "name", "value": "library/many"}]
    )
    execution = await finished_execution(api, await start_execution(api, policy_id))
    assert execution["status"] == "Succeed", execution
    for tag, digest in tags.items():
        assert manifest_digest(basic_registry, "mirror/many", tag) == digest
