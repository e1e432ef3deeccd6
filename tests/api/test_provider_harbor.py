"""Harbor as ferry's destination and source, through the API, against the Harbor **emulator**
(``tests/support/harbor_emulator.py``: Harbor's registry auth, projects and REST API in front of a
real docker-registry). Copies are checked with skopeo on the registry behind the emulator (the
emulator's forwarder keeps only the last of several ``Accept`` headers, and skopeo sends several)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    API,
    create_policy,
    created_id,
    error_message,
    finished_execution,
    get_json,
    seed_image,
    start_execution,
)
from tests.support.blobs import BlobSpec
from tests.support.client import list_tags
from tests.support.harbor_emulator import HarborEmulator
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest


@pytest.fixture
def harbor(tmp_path: Path) -> Iterator[HarborEmulator]:
    with HarborEmulator(tmp_path / "harbor") as emulator:
        yield emulator


async def add_harbor(
    api: httpx.AsyncClient, harbor: HarborEmulator, *, password: str | None = None, **settings: Any
) -> int:
    body: dict[str, Any] = {
        "name": "harbor",
        "type": "harbor",
        "url": harbor.url,
        "credential": {
            "type": "basic",
            "access_key": harbor.username,
            "access_secret": password or harbor.password,
        },
    }
    if settings:
        body["provider_settings"] = settings
    return created_id(await api.post(f"{API}/registries", json=body), "/registries")


async def run(api: httpx.AsyncClient, policy: int) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Run ``policy``; the execution, its tasks and every task's log, joined."""
    execution = await finished_execution(api, await start_execution(api, policy))
    tasks = await get_json(api, f"/replication/executions/{execution['id']}/tasks")
    logs = []
    for task in tasks:
        log = await api.get(f"{API}/replication/executions/{execution['id']}/tasks/{task['id']}/log")
        logs.append(log.text)
    return execution, tasks, "\n".join(logs)


def writes(harbor: HarborEmulator) -> list[tuple[str, str, int]]:
    """Every registry write the emulator answered: upload POST/PATCH/PUT and manifest PUT."""
    return [call for call in harbor.requests if call[0] in {"POST", "PUT", "PATCH"}]


# -- Harbor as the destination ----------------------------------------------------------------


async def test_a_missing_project_is_created_private_before_the_first_push(
    api: httpx.AsyncClient, registry: RegistryServer, harbor: HarborEmulator
) -> None:
    digest = seed_image(registry, "library/web", "v1")
    seed_image(registry, "library/api", "v2", seed=2)
    destination = await add_harbor(api, harbor)
    policy = await create_policy(api, "to-harbor", destination, dest_namespace="team")

    execution, tasks, log = await run(api, policy)

    assert execution["status"] == "Succeed", log
    assert len(tasks) == 2
    assert "project team was missing and has been created (private)" in log
    assert "team" in harbor.projects
    assert ("POST", "/api/v2.0/projects", 201) in harbor.api_calls
    assert [call for call in harbor.api_calls if call[:2] == ("POST", "/api/v2.0/projects")] == [
        ("POST", "/api/v2.0/projects", 201)
    ], "created once for both repositories"
    assert inspect_raw_digest(harbor.registry, "team/web", "v1") == digest
    async with httpx.AsyncClient(base_url=f"{harbor.url}{API}") as harbor_api:
        anonymous = await harbor_api.get("/projects/team")
        assert anonymous.status_code in (401, 403, 404), "the project is private"
        admin = await harbor_api.get("/projects/team", auth=(harbor.username, harbor.password))
        assert admin.json()["metadata"]["public"] == "false"
    assert all(status != 404 for _, _, status in writes(harbor)), "no write met 'project not found'"

    again, _, log = await run(api, policy)
    assert again["status"] == "Succeed", log
    assert "project team exists" in log


async def test_with_create_namespace_off_a_missing_project_fails_before_any_push(
    api: httpx.AsyncClient, registry: RegistryServer, harbor: HarborEmulator
) -> None:
    seed_image(registry, "library/web", "v1")
    destination = await add_harbor(api, harbor, create_namespace=False)
    policy = await create_policy(api, "to-harbor", destination, dest_namespace="team")

    execution, tasks, log = await run(api, policy)

    assert execution["status"] == "Failed"
    assert tasks[0]["status_text"].startswith("project not found: team"), tasks[0]["status_text"]
    assert "create_namespace" in log
    assert writes(harbor) == []
    assert "team" not in harbor.projects
    assert not [call for call in harbor.api_calls if call[0] == "POST"]


async def test_test_connection_checks_the_credentials_with_the_api(
    api: httpx.AsyncClient, harbor: HarborEmulator
) -> None:
    def body(password: str) -> dict[str, Any]:
        return {"type": "harbor", "url": harbor.url, "access_key": harbor.username, "access_secret": password}

    ok = await api.post(f"{API}/registries/ping", json=body(harbor.password))
    assert ok.status_code == 200, ok.text
    assert ("GET", "/api/v2.0/users/current", 200) in harbor.api_calls, "the account was asked for"

    wrong = error_message(
        await api.post(f"{API}/registries/ping", json=body("not-the-password")), 400, "BAD_REQUEST"
    )
    assert wrong.startswith("Failed to ping endpoint: unauthorized"), wrong
    assert "not-the-password" not in wrong

    anonymous = await api.post(f"{API}/registries/ping", json={"type": "harbor", "url": harbor.url})
    assert anonymous.status_code == 200, "public projects may be pulled without an account"
    assert ("GET", "/api/v2.0/ping", 200) in harbor.api_calls


# -- Harbor as the source ---------------------------------------------------------------------


def seed_harbor(harbor: HarborEmulator) -> dict[str, str]:
    """``library/app``: v1 (labelled production), v2, one untagged image; ``library/multi``: an index
    of two platform images tagged v1; ``library/tools/cli:v1`` (a name Harbor's API encodes twice).
    The digests by name."""
    harbor.add_project("library")
    backend = harbor.registry
    v1 = push_image(backend, "library/app", "v1", build_image([BlobSpec(2_000, seed=11)]))
    v2 = push_image(backend, "library/app", "v2", build_image([BlobSpec(2_000, seed=12)]))
    untagged = push_image(backend, "library/app", None, build_image([BlobSpec(2_000, seed=13)]))
    amd = build_image([BlobSpec(1_500, seed=21)], oci=True)
    arm = build_image([BlobSpec(1_500, seed=22)], oci=True, architecture="arm64")
    index = push_index(backend, "library/multi", "v1", build_index([amd, arm], oci=True))
    cli = push_image(backend, "library/tools/cli", "v1", build_image([BlobSpec(1_000, seed=31)]))
    harbor.add_label("production")
    harbor.label_artifact("library/app", v1, "production")
    return {
        "v1": v1,
        "v2": v2,
        "untagged": untagged,
        "index": index,
        "amd": amd.digest,
        "arm": arm.digest,
        "cli": cli,
    }


async def pull_rule(api: httpx.AsyncClient, source: int, name: str, filters: list[dict[str, Any]]) -> int:
    return await create_policy(
        api,
        name,
        0,
        src_registry={"id": source},
        dest_registry=None,
        dest_namespace="mirror",
        filters=filters,
    )


async def test_harbor_as_a_source_is_listed_through_its_api_untagged_artifacts_included(
    api: httpx.AsyncClient, registry: RegistryServer, harbor: HarborEmulator
) -> None:
    digests = seed_harbor(harbor)
    source = await add_harbor(api, harbor)
    policy = await pull_rule(api, source, "from-harbor", [{"type": "name", "value": "library/**"}])

    execution, tasks, log = await run(api, policy)

    assert execution["status"] == "Succeed", log
    paths = [path.split("?")[0] for method, path, _ in harbor.api_calls if method == "GET"]
    assert "/api/v2.0/projects/library/repositories" in paths
    assert "/api/v2.0/projects/library/repositories/app/artifacts" in paths
    assert "/api/v2.0/projects/library/repositories/multi/artifacts" in paths
    assert "/api/v2.0/projects/library/repositories/tools%252Fcli/artifacts" in paths
    assert not [call for call in harbor.requests if call[1].startswith("/v2/_catalog")]
    assert not [call for call in harbor.requests if "/tags/list" in call[1]]

    for tag in ("v1", "v2"):
        assert inspect_raw_digest(registry, "mirror/app", tag) == digests[tag]
    assert inspect_raw_digest(registry, "mirror/app", digests["untagged"]) == digests["untagged"]
    assert sorted(list_tags(registry, "mirror/app")) == ["v1", "v2"]
    assert inspect_raw_digest(registry, "mirror/multi", "v1") == digests["index"]

    assert inspect_raw_digest(registry, "mirror/tools/cli", "v1") == digests["cli"]

    copied = {task["src_resource"].split(" ")[0]: task["copied"] for task in tasks}
    assert copied == {"library/app": 3, "library/multi": 1, "library/tools/cli": 1}, (tasks, log)
    for platform in ("amd", "arm"):  # copied as the index's children, not as artifacts of their own
        assert f"mirror/multi:v1: child manifest {digests[platform][:19]}" in log
        assert f"mirror/multi@{digests[platform]}" not in log


async def test_harbor_labels_feed_the_label_filter(
    api: httpx.AsyncClient, registry: RegistryServer, harbor: HarborEmulator
) -> None:
    digests = seed_harbor(harbor)
    source = await add_harbor(api, harbor)
    policy = await pull_rule(
        api,
        source,
        "production-only",
        [{"type": "name", "value": "library/app"}, {"type": "label", "value": ["production"]}],
    )

    execution, tasks, log = await run(api, policy)

    assert execution["status"] == "Succeed", log
    assert [task["copied"] for task in tasks] == [1]
    assert inspect_raw_digest(registry, "mirror/app", "v1") == digests["v1"]
    assert list_tags(registry, "mirror/app") == ["v1"]


async def test_without_a_namespace_in_the_name_filter_every_project_is_listed(
    api: httpx.AsyncClient, registry: RegistryServer, harbor: HarborEmulator
) -> None:
    digests = seed_harbor(harbor)
    harbor.add_project("2024")  # a name in digits: Harbor reads it as an id unless told otherwise
    other = push_image(harbor.registry, "2024/tools/cli", "v9", build_image([BlobSpec(1_000, seed=41)]))
    source = await add_harbor(api, harbor)
    policy = await pull_rule(api, source, "every-cli", [{"type": "name", "value": "**/cli"}])

    execution, tasks, log = await run(api, policy)

    assert execution["status"] == "Succeed", log
    assert ("GET", "/api/v2.0/projects", 200) in harbor.api_calls
    assert ("GET", "/api/v2.0/projects/2024", 200) in harbor.api_calls
    assert sorted(task["src_resource"].split(" ")[0] for task in tasks) == [
        "2024/tools/cli",
        "library/tools/cli",
    ]
    assert inspect_raw_digest(registry, "mirror/tools/cli", "v1") == digests["cli"]
    assert inspect_raw_digest(registry, "mirror/tools/cli", "v9") == other
