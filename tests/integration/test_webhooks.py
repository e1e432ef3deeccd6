"""Outgoing webhooks end to end: real executions (a real store, a real dispatcher, real
docker-registries) announced to a real HTTP receiver by the notifier's outbox and delivery loops,
with retry delays shortened so nothing waits; and once through a real ``ferry serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from ferry import __version__
from ferry.api.app import create_app
from ferry.auth.authenticator import ADMIN, Authenticator
from ferry.jobs.health import ping_registry
from ferry.jobs.service import ReplicationService
from ferry.notify.delivery import RetrySchedule, SenderSettings
from ferry.notify.notifier import Notifier, NotifierSettings
from ferry.replication.domain.registry import RegistryType, local_registry
from ferry.services import Services
from ferry.store import Store
from ferry.store.secrets import SecretBox
from tests.api.conftest import (
    ADMIN_PASSWORD,
    API,
    BASE_URL,
    FAST_DISPATCH,
    admin_password_hash,
    create_policy,
    create_registry,
    created_id,
    finished_execution,
    get_json,
    poll,
    seed_image,
    start_execution,
)
from tests.support.blobs import BlobSpec
from tests.support.ferry_server import FerryServer
from tests.support.images import build_image, push_image
from tests.support.net import free_port
from tests.support.registry import RegistryServer
from tests.support.webhook_receiver import Received, WebhookReceiver

SECRET_HEADER = "Bearer hook-s3cret-4f9a2c"
FAST_NOTIFY = NotifierSettings(
    poll_seconds=0.05,
    sender=SenderSettings(timeout=5.0, retry=RetrySchedule(attempts=5, first_delay=0.05, max_delay=0.2)),
)
Json = dict[str, Any]


@dataclass
class Served:
    api: httpx.AsyncClient
    registry: RegistryServer
    """The local registry (id 0)."""
    destination_id: int


@pytest.fixture
async def served(
    tmp_path: Path, registry: RegistryServer, registry_b: RegistryServer
) -> AsyncIterator[Served]:
    """The API with its dispatcher and notifier running; ``registry`` is Local, ``registry_b``
    the destination of the rules the tests create."""
    store = await Store.open(
        f"sqlite:///{tmp_path / 'ferry.db'}", SecretBox([Fernet.generate_key().decode()])
    )
    now = datetime.now(UTC)
    await store.accounts.set_password_hash(ADMIN, admin_password_hash(), now=now)
    local = local_registry(type=RegistryType.DOCKER_REGISTRY, url=registry.url, now=now)
    service = ReplicationService(store, local_registry=local, settings=FAST_DISPATCH)
    notifier = Notifier(store, local_registry=local, hostname="ferry.example.com", settings=FAST_NOTIFY)
    context = Services(
        store=store,
        service=service,
        authenticator=Authenticator(store.accounts, clock=lambda: datetime.now(UTC)),
        local_registry=local,
        clock=lambda: datetime.now(UTC),
        ping=ping_registry,
        version=__version__,
        notifier=notifier,
    )
    running = [asyncio.create_task(service.dispatcher.run()), asyncio.create_task(notifier.run())]
    transport = httpx.ASGITransport(app=create_app(context))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, auth=("admin", ADMIN_PASSWORD)
        ) as api:
            destination = await create_registry(api, "b", registry_b.url)
            yield Served(api, registry, destination)
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await store.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


async def create_webhook(api: httpx.AsyncClient, name: str, targets: list[Json], events: list[str]) -> int:
    response = await api.post(
        f"{API}/webhook/policies", json={"name": name, "event_types": events, "targets": targets}
    )
    return created_id(response, "/webhook/policies")


def http_target(url: str, **fields: Any) -> Json:
    return {"type": "http", "address": url, "auth_header": SECRET_HEADER, **fields}


async def received(receiver: WebhookReceiver, count: int) -> list[Received]:
    return await asyncio.to_thread(receiver.wait_for, count)


async def deliveries(api: httpx.AsyncClient, webhook_id: int) -> list[Json]:
    result: list[Json] = await get_json(api, f"/webhook/policies/{webhook_id}/deliveries")
    return result


async def settled_deliveries(api: httpx.AsyncClient, webhook_id: int, count: int) -> list[Json]:
    result: list[Json] = await poll(
        lambda: deliveries(api, webhook_id),
        lambda found: len(found) == count and all(item["status"] != "Pending" for item in found),
        what=f"{count} settled deliveries",
    )
    return result


async def run_rule(served: Served, name: str) -> Json:
    policy = await create_policy(served.api, name, served.destination_id)
    return await finished_execution(served.api, await start_execution(served.api, policy))


async def test_a_succeeded_execution_is_announced_once_in_harbors_default_shape(
    served: Served, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seed_image(served.registry, "library/web", "v1")
    webhook = await create_webhook(
        served.api, "ops", [http_target(receiver.url)], ["REPLICATION_FINISHED", "REPLICATION_FAILED"]
    )
    execution = await run_rule(served, "to-b")
    assert execution["status"] == "Succeed"

    (request,) = await received(receiver, 1)
    assert request.path == "/hook"
    assert request.headers["authorization"] == SECRET_HEADER
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert set(body) == {"type", "occur_at", "operator", "event_data"}
    assert body["type"] == "REPLICATION_FINISHED"
    assert body["operator"] == "manual"
    assert isinstance(body["occur_at"], int)
    replication = body["event_data"]["replication"]
    assert replication["harbor_hostname"] == "ferry.example.com"
    assert replication["job_status"] == "Succeed"
    assert replication["execution_id"] == execution["id"]
    assert replication["trigger_type"] == "manual"
    assert replication["override_mode"] is True
    assert replication["policy_creator"] == "admin"
    assert replication["policy_name"] == "to-b"
    assert (replication["total"], replication["succeed"], replication["failed"], replication["stopped"]) == (
        1,
        1,
        0,
        0,
    )
    assert replication["duration_seconds"] >= 0
    assert replication["src_resource"] == {
        "registry_name": "Local",
        "registry_type": "docker-registry",
        "endpoint": served.registry.url,
        "namespace": "library",
    }
    assert replication["dest_resource"]["registry_name"] == "b"
    assert replication["dest_resource"]["namespace"] == "mirror"
    assert replication["successful_artifact"] == [
        {"type": "image", "status": "Success", "name_tag": "library/web:v1"}
    ]
    assert replication["failed_artifact"] == []

    (delivery,) = await settled_deliveries(served.api, webhook, 1)
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("Success", 1, 200)
    assert delivery["event_type"] == "REPLICATION_FINISHED"
    assert delivery["execution_id"] == execution["id"]
    assert delivery["payload"] == body

    # a second run is announced too, and the first one is not announced again
    again = await start_execution(served.api, execution["policy_id"])
    await finished_execution(served.api, again)
    requests = await received(receiver, 2)
    assert [item.json()["event_data"]["replication"]["execution_id"] for item in requests] == [
        execution["id"],
        again,
    ]
    await settled_deliveries(served.api, webhook, 2)
    assert len(receiver.received) == 2

    shown = await served.api.get(f"{API}/webhook/policies/{webhook}")
    assert shown.json()["targets"][0]["auth_header"] == "*****"
    listed = await served.api.get(f"{API}/webhook/policies")
    log_page = await served.api.get(f"{API}/webhook/policies/{webhook}/deliveries")
    for text in (shown.text, listed.text, log_page.text, caplog.text):
        assert "hook-s3cret" not in text


async def test_a_failed_execution_is_announced_as_replication_failed_with_the_failed_artifacts(
    served: Served, receiver: WebhookReceiver
) -> None:
    seed_image(served.registry, "library/web", "v1")
    seed_image(served.registry, "library/web", "v2", seed=2)
    down = await create_registry(served.api, "down", f"http://127.0.0.1:{free_port()}")
    await create_webhook(
        served.api, "ops", [http_target(receiver.url)], ["REPLICATION_FINISHED", "REPLICATION_FAILED"]
    )
    policy = await create_policy(served.api, "to-down", down)
    execution = await finished_execution(served.api, await start_execution(served.api, policy))
    assert execution["status"] == "Failed"

    (request,) = await received(receiver, 1)
    body = request.json()
    assert body["type"] == "REPLICATION_FAILED"
    replication = body["event_data"]["replication"]
    assert replication["job_status"] == "Failed"
    assert (replication["total"], replication["succeed"], replication["failed"]) == (1, 0, 1)
    assert replication["dest_resource"]["registry_name"] == "down"
    failed = sorted(replication["failed_artifact"], key=lambda item: item["name_tag"])
    assert [(item["type"], item["status"], item["name_tag"]) for item in failed] == [
        ("image", "Error", "library/web:v1"),
        ("image", "Error", "library/web:v2"),
    ]
    assert all(item["fail_reason"] for item in failed)
    assert replication["successful_artifact"] == []


async def test_only_failures_reach_a_policy_that_selects_only_replication_failed(
    served: Served, receiver: WebhookReceiver
) -> None:
    seed_image(served.registry, "library/web", "v1")
    with WebhookReceiver() as everything:
        await create_webhook(served.api, "failures", [http_target(receiver.url)], ["REPLICATION_FAILED"])
        await create_webhook(served.api, "all", [http_target(everything.url)], ["REPLICATION_FINISHED"])
        succeeded = await run_rule(served, "to-b")
        down = await create_registry(served.api, "down", f"http://127.0.0.1:{free_port()}")
        failing = await create_policy(served.api, "to-down", down)
        failed = await finished_execution(served.api, await start_execution(served.api, failing))

        (failure,) = await received(receiver, 1)
        assert failure.json()["event_data"]["replication"]["execution_id"] == failed["id"]
        both = [item.json() for item in await received(everything, 2)]
    statuses = {
        body["event_data"]["replication"]["execution_id"]: (
            body["type"],
            body["event_data"]["replication"]["job_status"],
        )
        for body in both
    }
    assert statuses == {
        succeeded["id"]: ("REPLICATION_FINISHED", "Succeed"),
        failed["id"]: ("REPLICATION_FINISHED", "Failed"),
    }


async def test_cloudevents_targets_get_structured_cloudevents_and_harbors_per_task_events(
    served: Served, receiver: WebhookReceiver
) -> None:
    seed_image(served.registry, "library/web", "v1")
    seed_image(served.registry, "library/api", "v1", seed=2)
    webhook = await create_webhook(
        served.api,
        "events",
        [http_target(receiver.url, payload_format="CloudEvents")],
        ["REPLICATION", "REPLICATION_FINISHED"],
    )
    execution = await run_rule(served, "to-b")

    requests = await received(receiver, 3)
    await settled_deliveries(served.api, webhook, 3)
    assert len(receiver.received) == 3
    for request in requests:
        assert request.headers["content-type"] == "application/cloudevents+json"
    events = [request.json() for request in requests]
    types = sorted(event["type"] for event in events)
    assert types == [
        "ferry.replication.finished",
        "harbor.replication.status.changed",
        "harbor.replication.status.changed",
    ]
    finished = next(event for event in events if event["type"] == "ferry.replication.finished")
    assert finished["specversion"] == "1.0"
    assert finished["source"] == f"/webhook/policies/{webhook}"
    assert finished["datacontenttype"] == "application/json"
    assert finished["time"].endswith("Z")
    assert finished["operator"] == "manual"
    assert finished["data"]["replication"]["execution_id"] == execution["id"]
    assert len({event["id"] for event in events}) == 3
    per_task = [event["data"]["replication"] for event in events if event is not finished]
    assert sorted(item["successful_artifact"][0]["name_tag"] for item in per_task) == [
        "library/api:v1",
        "library/web:v1",
    ]
    assert {item["job_status"] for item in per_task} == {"Success"}
    assert all(item["task_id"] > 0 for item in per_task)


async def test_slack_targets_get_a_readable_message(served: Served, receiver: WebhookReceiver) -> None:
    seed_image(served.registry, "library/web", "v1")
    await create_webhook(
        served.api, "chat", [{"type": "slack", "address": receiver.url}], ["REPLICATION_FINISHED"]
    )
    execution = await run_rule(served, "to-b")

    (request,) = await received(receiver, 1)
    assert "authorization" not in request.headers
    body = request.json()
    assert set(body) == {"text", "blocks"}
    assert body["text"] == f"Replication rule 'to-b' finished: Succeed (execution {execution['id']})"
    section = body["blocks"][0]["text"]["text"]
    assert "1 task(s): 1 succeeded, 0 failed, 0 stopped" in section
    assert "Local → b" in section


async def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt(served: Served) -> None:
    seed_image(served.registry, "library/web", "v1")
    with WebhookReceiver(statuses=[500, 503], echo_header="Authorization") as flaky:
        webhook = await create_webhook(served.api, "ops", [http_target(flaky.url)], ["REPLICATION_FINISHED"])
        await run_rule(served, "to-b")

        requests = await received(flaky, 3)
        (delivery,) = await settled_deliveries(served.api, webhook, 1)
    assert len({request.body for request in requests}) == 1, "every attempt sends the same body"
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("Success", 3, 200)
    assert [attempt["response_status"] for attempt in delivery["history"]] == [500, 503, 200]
    assert delivery["history"][0]["error"] == "the receiver answered HTTP 500: refused *****"
    assert delivery["last_error"] == ""


async def test_a_refusing_receiver_fails_the_delivery_at_once(served: Served) -> None:
    seed_image(served.registry, "library/web", "v1")
    with WebhookReceiver(statuses=[401]) as refusing:
        webhook = await create_webhook(
            served.api, "ops", [http_target(refusing.url)], ["REPLICATION_FINISHED"]
        )
        await run_rule(served, "to-b")
        (delivery,) = await settled_deliveries(served.api, webhook, 1)
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("Failed", 1, 401)
    assert "check the target's auth_header" in delivery["last_error"]


async def test_the_test_action_sends_to_every_target_and_answers_each_result(
    served: Served, receiver: WebhookReceiver
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"
    webhook = await create_webhook(
        served.api, "ops", [http_target(receiver.url), http_target(closed)], ["REPLICATION_FINISHED"]
    )
    response = await served.api.post(f"{API}/webhook/policies/{webhook}/test")
    assert response.status_code == 200, response.text
    good, bad = response.json()
    assert (good["address"], good["status"], good["response_status"], good["error"]) == (
        receiver.url,
        "Success",
        200,
        "",
    )
    assert (bad["address"], bad["status"], bad["response_status"]) == (closed, "Failed", None)
    assert "nothing is listening there" in bad["error"]
    (request,) = receiver.received
    assert request.headers["authorization"] == SECRET_HEADER
    body = request.json()
    assert body["type"] == "TEST"
    assert body["event_data"]["webhook_policy"] == {"id": webhook, "name": "ops"}
    assert await deliveries(served.api, webhook) == []


async def test_certificates_are_verified_unless_the_target_skips_verification(served: Served) -> None:
    with WebhookReceiver(tls=True) as secure:
        verified = await create_webhook(served.api, "verified", [http_target(secure.url)], ["REPLICATION"])
        skipping = await create_webhook(
            served.api, "skipping", [http_target(secure.url, skip_cert_verify=True)], ["REPLICATION"]
        )
        refused = (await served.api.post(f"{API}/webhook/policies/{verified}/test")).json()
        accepted = (await served.api.post(f"{API}/webhook/policies/{skipping}/test")).json()
        assert len(secure.received) == 1
    assert refused[0]["status"] == "Failed"
    assert refused[0]["error"].startswith("the TLS certificate of 127.0.0.1:")
    assert "set skip_cert_verify on this target" in refused[0]["error"]
    assert (accepted[0]["status"], accepted[0]["response_status"]) == ("Success", 200)


def test_ferry_serve_announces_executions(ferry_server: FerryServer, registry: RegistryServer) -> None:
    """The composition root runs the notifier: a rule run through the real service is announced."""
    push_image(ferry_server.local_registry, "library/web", "v1", build_image([BlobSpec(2_000, seed=1)]))
    with WebhookReceiver() as hook, ferry_server.client() as api:
        created = api.post(
            "/webhook/policies",
            json={
                "name": "serve-hook",
                "event_types": ["REPLICATION_FINISHED"],
                "targets": [http_target(hook.url)],
            },
        )
        assert created.status_code == 201, created.text
        destination = api.post(
            "/registries", json={"name": "dest", "type": "docker-registry", "url": registry.url}
        )
        assert destination.status_code == 201, destination.text
        destination_id = int(destination.headers["location"].rsplit("/", 1)[1])
        rule = api.post(
            "/replication/policies",
            json={"name": "serve-rule", "dest_registry": {"id": destination_id}, "dest_namespace": "mirror"},
        )
        assert rule.status_code == 201, rule.text
        policy_id = int(rule.headers["location"].rsplit("/", 1)[1])
        started = api.post("/replication/executions", json={"policy_id": policy_id})
        execution_id = int(started.headers["location"].rsplit("/", 1)[1])

        (request,) = hook.wait_for(1, timeout=30)
    body = request.json()
    assert body["type"] == "REPLICATION_FINISHED"
    assert body["event_data"]["replication"]["execution_id"] == execution_id
    assert body["event_data"]["replication"]["harbor_hostname"] == "127.0.0.1"
    assert SECRET_HEADER not in ferry_server.log_text()
