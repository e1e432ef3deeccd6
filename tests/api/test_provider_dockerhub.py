"""Docker Hub as ferry's source, through the API, against the Docker Hub **emulator**
(``tests/support/hub_emulator.py``: Hub's token flow, its pull rate limit and the Hub API's
listings on one port, in front of a real docker-registry). Copies are checked with skopeo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.distribution.options import Credentials
from ferry.jobs.clients import endpoint_of, registry_host
from ferry.providers import Endpoint, provider_for
from ferry.providers.dockerhub import DockerHubProvider
from ferry.providers.kinds import RegistryType
from ferry.replication.domain.registry import Registry
from tests.api.conftest import (
    API,
    create_policy,
    created_id,
    error_message,
    finished_execution,
    get_json,
    start_execution,
)
from tests.support.blobs import BlobSpec
from tests.support.client import list_tags
from tests.support.hub_emulator import HubEmulator
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

IMAGES = ("library/alpine", "library/busybox", "library/nginx", "library/redis")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubEmulator]:
    with HubEmulator(tmp_path / "hub", pull_limit=100, window_seconds=21600) as emulator:
        yield emulator


def seed_hub(hub: HubEmulator) -> dict[str, str]:
    """One tagged image in each of ``IMAGES``, and ``someone/else:1`` outside ``library``; the
    digests by repository."""
    digests = {
        name: push_image(hub.registry, name, "1", build_image([BlobSpec(1_500, seed=index)]))
        for index, name in enumerate(IMAGES, start=1)
    }
    push_image(hub.registry, "someone/else", "1", build_image([BlobSpec(1_500, seed=99)]))
    return digests


async def add_hub(api: httpx.AsyncClient, hub: HubEmulator, *, signed_in: bool = False) -> int:
    body: dict[str, Any] = {"name": "hub", "type": "docker-hub", "url": hub.url}
    if signed_in:
        body["credential"] = {"type": "basic", "access_key": hub.username, "access_secret": hub.password}
    return created_id(await api.post(f"{API}/registries", json=body), "/registries")


async def pull_rule(api: httpx.AsyncClient, source: int) -> int:
    return await create_policy(
        api,
        "from-hub",
        0,
        src_registry={"id": source},
        dest_registry=None,
        dest_namespace="mirror",
        filters=[{"type": "name", "value": "library/**"}],
    )


async def run(api: httpx.AsyncClient, policy: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    execution = await finished_execution(api, await start_execution(api, policy))
    return execution, await get_json(api, f"/replication/executions/{execution['id']}/tasks")


def manifest_calls(hub: HubEmulator, since: int = 0) -> list[tuple[str, str, int]]:
    return [call for call in hub.requests[since:] if "/manifests/" in call[1]]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
async def test_the_hub_api_lists_a_namespace_and_a_no_op_rerun_spends_no_pulls(
    api: httpx.AsyncClient, registry: RegistryServer, hub: HubEmulator, signed_in: bool
) -> None:
    digests = seed_hub(hub)
    source = await add_hub(api, hub, signed_in=signed_in)
    policy = await pull_rule(api, source)

    execution, tasks = await run(api, policy)

    assert execution["status"] == "Succeed", tasks
    assert execution["total"] == len(IMAGES)
    for name, digest in digests.items():
        assert inspect_raw_digest(registry, f"mirror/{name.split('/')[1]}", "1") == digest
    with pytest.raises(RuntimeError):
        inspect_raw_digest(registry, "mirror/else", "1")
    paths = [path for _, path, _ in hub.requests]
    assert any(path.startswith("/v2/repositories/library/") for path in paths)
    assert any(path.startswith("/v2/namespaces/library/repositories/alpine/tags") for path in paths)
    assert not [path for path in paths if path.startswith("/v2/_catalog")], "Docker Hub has no catalog"
    assert not [path for path in paths if path.endswith("/tags/list")], "tags come from the Hub API"
    if signed_in:
        assert ("POST", "/v2/users/login", 200) in hub.requests
    assert hub.pulls_left == 100 - len(IMAGES), "one pull per image"
    assert hub.throttled == []

    before, pulls_before = len(hub.requests), hub.pulls_left
    again, tasks = await run(api, policy)

    assert again["status"] == "Succeed", tasks
    assert [task["up_to_date"] for task in tasks] == [1] * len(IMAGES)
    assert hub.pulls_left == pulls_before, "nothing changed: no pull spent"
    rerun = manifest_calls(hub, before)
    assert rerun, "the digests were compared"
    assert {method for method, _, _ in rerun} == {"HEAD"}


async def test_with_the_quota_nearly_used_up_ferry_stops_before_the_registry_says_429(
    api: httpx.AsyncClient, registry: RegistryServer, hub: HubEmulator
) -> None:
    seed_hub(hub)
    hub.set_pulls_left(2)
    source = await add_hub(api, hub)
    policy = await pull_rule(api, source)

    execution, tasks = await run(api, policy)

    assert execution["status"] == "Failed"
    assert (execution["succeed"], execution["failed"]) == (2, 2), tasks
    failed = [task for task in tasks if task["status"] == "Failed"]
    assert all(task["status_text"].startswith("pull quota used up: 0 of 100 pulls") for task in failed), (
        failed
    )
    assert hub.throttled == [], "ferry never provoked a 429"
    assert hub.pulls_left == 0
    assert len([call for call in manifest_calls(hub) if call[0] == "GET" and call[2] == 200]) == 2
    copied = [name for name in IMAGES if list_tags_or_none(registry, f"mirror/{name.split('/')[1]}")]
    assert len(copied) == 2
    log = await api.get(
        f"{API}/replication/executions/{execution['id']}/tasks/{failed[0]['id']}/log",
    )
    assert "ferry stopped before the registry would answer 429" in log.text


def list_tags_or_none(registry: RegistryServer, repository: str) -> list[str] | None:
    try:
        return list_tags(registry, repository)
    except Exception:
        return None


async def test_test_connection_takes_the_hubs_token_flow(api: httpx.AsyncClient, hub: HubEmulator) -> None:
    def body(password: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = {"type": "docker-hub", "url": hub.url}
        if password is not None:
            fields |= {"access_key": hub.username, "access_secret": password}
        return fields

    assert (await api.post(f"{API}/registries/ping", json=body(None))).status_code == 200
    assert (await api.post(f"{API}/registries/ping", json=body(hub.password))).status_code == 200
    wrong = error_message(await api.post(f"{API}/registries/ping", json=body("nope")), 400, "BAD_REQUEST")
    assert wrong.startswith("Failed to ping endpoint: unauthorized"), wrong


async def test_the_official_endpoint_reaches_the_registry_at_registry_1_and_lists_at_hub_docker_com() -> None:
    """No network: where the provider would go, not whether it gets there."""
    for url in ("https://hub.docker.com", "https://docker.io", "https://index.docker.io"):
        provider = provider_for(Endpoint(RegistryType.DOCKER_HUB, url, Credentials("me", "secret")))
        assert isinstance(provider, DockerHubProvider)
        assert provider.registry_host == "registry-1.docker.io"
        options = provider.options()
        assert options.pull_quota
        assert options.plain_http is None, "always HTTPS"
        assert provider.api().base_url == "https://hub.docker.com"
        await provider.aclose()

    now = datetime.now(UTC)
    stored = Registry(
        id=7,
        name="hub",
        type=RegistryType.DOCKER_HUB,
        url="https://hub.docker.com",
        creation_time=now,
        update_time=now,
    )
    assert endpoint_of(stored).host == "hub.docker.com"
    assert registry_host(stored) == "registry-1.docker.io", "image references name registry-1"

    mirror = provider_for(Endpoint(RegistryType.DOCKER_HUB, "http://127.0.0.1:5000"))
    assert isinstance(mirror, DockerHubProvider)
    assert mirror.registry_host == "127.0.0.1:5000"
    assert mirror.options().pull_quota
    assert mirror.options().plain_http is True
    assert mirror.api().base_url == "http://127.0.0.1:5000"
    await mirror.aclose()
