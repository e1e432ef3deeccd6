"""The event receivers in-process, over the real store, dispatcher and registries: an event-based
execution whose destination stays down past its attempts is visible as Failed, and re-running it
copies the artifact once the destination is back. A deletion event with ``deletion`` on deletes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from ferry.api.app import create_app
from ferry.jobs.events import EventProcessor
from tests.api.conftest import (
    API,
    BASE_URL,
    Ferry,
    create_policy,
    create_registry,
    finished_execution,
    get_json,
    poll,
    seed_image,
)
from tests.support.client import list_tags, manifest_digest
from tests.support.faults import FlakyProxy, upload_start
from tests.support.registry import RegistryServer

TOKEN = "a-notification-token"
RECEIVER = "/service/notifications/registry"
EVENT_BASED = {"type": "event_based", "trigger_settings": {"cron": ""}}


@pytest.fixture
async def receiver(ferry: Ferry) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its event receivers on (the token, and a running event processor)."""
    processor = EventProcessor(ferry.service, settle_seconds=0.05, poll_seconds=0.2)
    app = create_app(replace(ferry.context, notify_token=TOKEN, events=processor))
    running = asyncio.create_task(processor.run())
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers
        ) as client:
            yield client
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def notification(action: str, repository: str, *, tag: str | None = None, digest: str | None = None) -> Any:
    target = {"repository": repository, "tag": tag, "digest": digest}
    if action == "push":
        target["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    event_id = hashlib.sha256(f"{action}{repository}{tag}{digest}".encode()).hexdigest()
    return {"events": [{"id": event_id, "action": action, "target": target}]}


async def newest_execution(api: httpx.AsyncClient, policy: int, *, count: int) -> dict[str, Any]:
    async def probe() -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await get_json(api, f"/replication/executions?policy_id={policy}")
        return result

    found = await poll(probe, lambda items: len(items) >= count, what=f"{count} execution(s)")
    return await finished_execution(api, found[0]["id"])


async def test_an_event_based_execution_that_exhausts_its_attempts_is_failed_and_can_be_re_run(
    api: httpx.AsyncClient, receiver: httpx.AsyncClient, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    digest = seed_image(registry, "library/web", "v1")
    with FlakyProxy(registry_b, fail_statuses=[503] * 1000, retry_after="0", match=upload_start) as down:
        policy = await create_policy(
            api, "on-push", await create_registry(api, "down", down.url), trigger=EVENT_BASED
        )

        accepted = await receiver.post(
            RECEIVER, json=notification("push", "library/web", tag="v1", digest=digest)
        )
        assert accepted.json() == {"accepted": 1, "duplicates": 0, "ignored": 0}
        failed = await newest_execution(api, policy, count=1)
        [task] = await get_json(api, f"/replication/executions/{failed['id']}/tasks")
        assert (failed["trigger"], failed["status"], task["status"]) == ("event_based", "Failed", "Failed")
        assert "HTTP 503" in task["status_text"]

        down.fail_statuses = down.fail_statuses[: down.failed]  # the destination is back
        retried = await api.post(f"{API}/replication/executions/{failed['id']}/retry")
        assert retried.status_code == 201, retried.text
        again = await newest_execution(api, policy, count=2)

    assert again["status"] == "Succeed"
    assert again["status_text"] == f"re-run of the failed tasks of execution {failed['id']}"
    assert manifest_digest(registry_b, "mirror/web", "v1") == digest


async def test_a_deletion_event_deletes_at_the_destination_when_deletion_is_on(
    api: httpx.AsyncClient, receiver: httpx.AsyncClient, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    digest = seed_image(registry_b, "mirror/web", "v1")
    seed_image(registry_b, "mirror/web", "v2", seed=2)
    destination = await create_registry(api, "dest", registry_b.url)
    policy = await create_policy(api, "on-delete", destination, trigger=EVENT_BASED, deletion=True)

    accepted = await receiver.post(RECEIVER, json=notification("delete", "library/web", digest=digest))

    assert accepted.json()["accepted"] == 1
    execution = await newest_execution(api, policy, count=1)
    [task] = await get_json(api, f"/replication/executions/{execution['id']}/tasks")
    assert (execution["status"], task["operation"], task["dst_resource"]) == (
        "Succeed",
        "deletion",
        "mirror/web [1 item(s) in total]",
    )
    assert (task["deleted"], task["up_to_date"], task["items_failed"]) == (1, 0, 0)
    assert list_tags(registry_b, "mirror/web") == ["v2"]
    log = await receiver.get(f"{API}/replication/executions/{execution['id']}/tasks/{task['id']}/log")
    assert log.status_code == 401  # the receiver's token is not an API credential
    log = await api.get(f"{API}/replication/executions/{execution['id']}/tasks/{task['id']}/log")
    assert f"deleted mirror/web@{digest} (tags v1)" in log.text
    assert "1 deleted, 0 kept or already gone, 0 failed" in log.text
