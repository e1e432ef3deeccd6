"""``GET /metrics``: real copies between real registries (a failing one, a flaky one, one that holds
uploads open), scraped and parsed with the Prometheus client's own parser; who may read them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from ferry import __version__
from ferry.api.app import create_app
from ferry.auth.authenticator import ADMIN
from ferry.services import Services
from tests.api.conftest import (
    ADMIN_PASSWORD,
    API,
    BASE_URL,
    CLIENT_ADDRESS,
    Ferry,
    HangingRegistry,
    create_policy,
    create_registry,
    error_message,
    finished_execution,
    poll,
    start_execution,
)
from tests.support.blobs import BlobSpec
from tests.support.faults import FlakyProxy
from tests.support.images import ImageSpec, build_image, push_image
from tests.support.metrics import Samples
from tests.support.registry import RegistryServer


def client_of(context: Services, *, auth: tuple[str, str] | None = None) -> httpx.AsyncClient:
    """A client of an app built on ``context`` (the ``ferry`` fixture's, changed)."""
    app = create_app(context)
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40_000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, auth=auth)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return Samples.parse(response.text)


def hello(seed: int) -> ImageSpec:
    return build_image([BlobSpec(3_000, seed=seed), BlobSpec(5_000, seed=seed + 100)])


async def run_rule(api: httpx.AsyncClient, destination_url: str, *, name: str = "push") -> dict[str, object]:
    """Local library/** → ``destination_url``; run it to its end."""
    dest = await create_registry(api, name, destination_url)
    policy = await create_policy(api, name, dest, filters=[{"type": "name", "value": "library/**"}])
    return await finished_execution(api, await start_execution(api, policy))


# -- the format and who may read it ---------------------------------------------------------------


async def test_metrics_are_prometheus_text_readable_without_sign_in(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = Samples.parse(response.text)
    assert samples("ferry_build_info", version=__version__) == 1
    for status in ("InProgress", "Succeed", "Failed", "Stopped"):
        assert samples.has("ferry_executions", status=status)
    for status in ("Pending", "InProgress", "Succeed", "Failed", "Stopped"):
        assert samples.has("ferry_tasks", status=status)
    for outcome in ("uploaded", "mounted", "exists"):
        assert samples.has("ferry_blobs_total", outcome=outcome)
    assert samples("ferry_tasks_running") == 0
    assert samples("ferry_transfers_in_flight") == 0
    assert samples("ferry_bytes_transferred_total") == 0


async def test_metrics_auth_asks_for_the_api_sign_in(ferry: Ferry) -> None:
    with_auth = replace(ferry.context, metrics_sign_in=True)
    async with client_of(with_auth) as anonymous:
        refused = await anonymous.get("/metrics")
    assert "authentication required" in error_message(refused, 401, "UNAUTHORIZED")
    async with client_of(with_auth, auth=(ADMIN, "wrong-password")) as wrong:
        assert (await wrong.get("/metrics")).status_code == 401
    async with client_of(with_auth, auth=(ADMIN, ADMIN_PASSWORD)) as admin:
        created = await admin.post(f"{API}/tokens", json={"name": "prometheus"})
        assert created.status_code == 201, created.text
        assert (await admin.get("/metrics")).status_code == 200
    token = created.json()["token"]
    async with client_of(with_auth) as prometheus:
        bearer = await prometheus.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200, bearer.text
    assert "ferry_executions" in bearer.text


async def test_an_app_without_metrics_answers_404(ferry: Ferry) -> None:
    async with client_of(replace(ferry.context, metrics=None)) as anonymous:
        response = await anonymous.get("/metrics")
    assert "serves no metrics" in error_message(response, 404, "NOT_FOUND")


async def test_metrics_are_not_in_the_harbor_api_document(api: httpx.AsyncClient) -> None:
    document = (await api.get(f"{API}/openapi.json")).json()
    assert not any("metrics" in path for path in document["paths"])


# -- what a run records ---------------------------------------------------------------------------


async def test_a_copy_is_counted_by_status_outcome_bytes_and_duration(
    api: httpx.AsyncClient, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    image = hello(seed=1)
    push_image(registry, "library/hello", "v1", image)
    execution = await run_rule(api, registry_b.url)
    assert execution["status"] == "Succeed"

    samples = await scrape(api)
    assert samples("ferry_executions", status="Succeed") == 1
    assert samples("ferry_executions", status="InProgress") == 0
    assert samples("ferry_tasks", status="Succeed") == 1
    succeeded = {"status": "Succeed", "trigger": "manual"}
    assert samples("ferry_execution_duration_seconds_count", **succeeded) == 1
    assert samples("ferry_execution_duration_seconds_bucket", le="+Inf", **succeeded) == 1
    assert samples("ferry_execution_duration_seconds_count", status="Failed", trigger="manual") == 0
    assert samples("ferry_task_duration_seconds_count", status="Succeed") == 1

    blob_bytes = sum(blob.size for blob in image.blobs)
    assert samples("ferry_blobs_total", outcome="uploaded") == len(image.blobs)
    assert samples("ferry_blob_bytes_total", outcome="uploaded") == blob_bytes
    assert samples("ferry_bytes_transferred_total") >= blob_bytes
    assert samples("ferry_images_total", outcome="copied") == 1
    for host in (registry.host, registry_b.host):
        assert samples("ferry_registry_requests_total", registry=host, outcome="success") > 0
        assert samples("ferry_registry_requests_total", registry=host, outcome="no_answer") == 0
    assert samples("ferry_tasks_running") == 0
    assert samples("ferry_transfers_in_flight") == 0


async def test_a_second_run_counts_the_image_up_to_date_and_moves_no_bytes(
    api: httpx.AsyncClient, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    push_image(registry, "library/hello", "v1", hello(seed=2))
    dest = await create_registry(api, "b", registry_b.url)
    policy = await create_policy(api, "twice", dest, filters=[{"type": "name", "value": "library/**"}])
    await finished_execution(api, await start_execution(api, policy))
    moved = (await scrape(api))("ferry_bytes_transferred_total")

    again = await finished_execution(api, await start_execution(api, policy))
    assert again["status"] == "Succeed"
    samples = await scrape(api)
    assert samples("ferry_images_total", outcome="up_to_date") == 1
    assert samples("ferry_images_total", outcome="copied") == 1
    assert samples("ferry_bytes_transferred_total") == moved
    assert samples("ferry_executions", status="Succeed") == 2
    assert samples("ferry_execution_duration_seconds_count", status="Succeed", trigger="manual") == 2


async def test_a_run_against_a_closed_port_counts_registry_errors_and_a_failure(
    api: httpx.AsyncClient, registry: RegistryServer, closed_url: str
) -> None:
    push_image(registry, "library/hello", "v1", hello(seed=3))
    execution = await run_rule(api, closed_url, name="gone")
    assert execution["status"] == "Failed"

    samples = await scrape(api)
    closed_host = closed_url.removeprefix("http://")
    assert samples("ferry_registry_requests_total", registry=closed_host, outcome="no_answer") >= 1
    assert samples("ferry_registry_requests_total", registry=closed_host, outcome="success") == 0
    assert samples("ferry_executions", status="Failed") == 1
    assert samples("ferry_tasks", status="Failed") == 1
    assert samples("ferry_execution_duration_seconds_count", status="Failed", trigger="manual") == 1
    assert samples("ferry_task_duration_seconds_count", status="Failed") == 1
    assert samples("ferry_images_total", outcome="failed") == 1
    assert samples("ferry_bytes_transferred_total") == 0


async def test_retries_are_counted_by_registry_and_reason(
    api: httpx.AsyncClient, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    push_image(registry, "library/hello", "v1", hello(seed=4))
    manifest_head = lambda method, path: method == "HEAD" and "/manifests/" in path  # noqa: E731
    with FlakyProxy(registry_b, fail_statuses=[503, 429], retry_after="0", match=manifest_head) as flaky:
        execution = await run_rule(api, flaky.url, name="flaky")
    assert execution["status"] == "Succeed"
    assert flaky.failed == 2

    samples = await scrape(api)

    def retries(registry: str, reason: str) -> float:
        return samples("ferry_registry_retries_total", registry=registry, reason=reason)

    assert retries(flaky.host, "server_error") == 1
    assert retries(flaky.host, "rate_limited") == 1
    assert retries(registry.host, "server_error") == 0
    requests = "ferry_registry_requests_total"
    assert samples(requests, registry=flaky.host, outcome="server_error") == 1


# -- work in flight -------------------------------------------------------------------------------


class HoldingRegistry(HangingRegistry):
    """Has nothing (404 to every HEAD), opens uploads, and holds every upload body open until
    closed: a copy to it keeps its blob transfers in flight for as long as the test needs."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
                if method in ("PUT", "PATCH"):
                    self.held.append(f"{method} {target}")
                    await reader.read()  # until the client gives up or the registry is closed
                    return
                if method == "POST" and target.endswith("/blobs/uploads/"):
                    repository = target.removeprefix("/v2/").removesuffix("/blobs/uploads/")
                    _answer(writer, 202, f"Location: /v2/{repository}/blobs/uploads/held\r\n")
                else:
                    _answer(writer, 200 if target == "/v2/" else 404, "")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()


def _answer(writer: asyncio.StreamWriter, status: int, headers: str) -> None:
    writer.write(
        f"HTTP/1.1 {status} X\r\nDocker-Distribution-API-Version: registry/2.0\r\n{headers}"
        "Content-Length: 0\r\n\r\n".encode()
    )


@pytest.fixture
async def holding() -> AsyncIterator[HoldingRegistry]:
    registry = HoldingRegistry()
    await registry.start()
    try:
        yield registry
    finally:
        await registry.close()


async def test_running_tasks_and_transfers_in_flight_are_gauged_until_stopped(
    api: httpx.AsyncClient, registry: RegistryServer, holding: HoldingRegistry
) -> None:
    image = hello(seed=5)
    push_image(registry, "library/hello", "v1", image)
    dest = await create_registry(api, "holding", holding.url)
    policy = await create_policy(api, "held", dest, filters=[{"type": "name", "value": "library/**"}])
    execution_id = await start_execution(api, policy)

    busy = await poll(
        lambda: scrape(api),
        lambda samples: samples("ferry_transfers_in_flight") == len(image.blobs),
        what="both blob uploads to be held in flight",
    )
    assert busy("ferry_tasks_running") == 1
    assert busy("ferry_tasks", status="InProgress") == 1
    assert busy("ferry_executions", status="InProgress") == 1

    stopped = await api.put(f"{API}/replication/executions/{execution_id}", json={"status": "Stopped"})
    assert stopped.status_code == 200, stopped.text
    # the database says Stopped a moment before the worker lets go of the task: wait for both
    idle = await poll(
        lambda: scrape(api),
        lambda samples: (
            samples("ferry_executions", status="Stopped") == 1
            and samples("ferry_tasks_running") == 0
            and samples("ferry_transfers_in_flight") == 0
        ),
        what="the execution to end stopped and its worker to let go of the task",
    )
    assert idle("ferry_execution_duration_seconds_count", status="Stopped", trigger="manual") == 1
    assert idle("ferry_task_duration_seconds_count", status="Stopped") == 1
