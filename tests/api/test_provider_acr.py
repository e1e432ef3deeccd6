"""Alibaba Cloud ACR as ferry's destination and source, through the API, against the ACR **emulator**
(``tests/support/acr_emulator.py``: ACR's token service, namespace ownership, content rules and
OpenAPI in front of a real docker-registry). Copies are checked with skopeo through the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.distribution.options import Credentials
from ferry.providers import Endpoint, provider_for
from ferry.providers.kinds import RegistryType
from ferry.providers.settings import ProviderSettings
from ferry.replication.deletion import delete_reference
from ferry.replication.domain.policy import Policy, Trigger, validate_policy
from ferry.replication.domain.status import TriggerType
from ferry.replication.engine.progress import ImageOutcome
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
from tests.support.acr_emulator import EMPTY_CONFIG, AcrEmulator
from tests.support.blobs import BlobSpec
from tests.support.client import get_manifest, list_tags, manifest_digest
from tests.support.images import build_image, build_index, push_image, push_index
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

ACCOUNT, PASSWORD = "lgy@example.com", "fixed-Passw0rd"
KEY_ID, KEY_SECRET = "LTAI5tEmulatorKey0001", "emulator-secret-0001"


@pytest.fixture
def acr(tmp_path: Path) -> Iterator[AcrEmulator]:
    with AcrEmulator(tmp_path / "acr") as emulator:
        emulator.add_account(ACCOUNT, PASSWORD)
        emulator.add_access_key(ACCOUNT, KEY_ID, KEY_SECRET)
        yield emulator


@pytest.fixture
def enterprise(tmp_path: Path) -> Iterator[AcrEmulator]:
    with AcrEmulator(tmp_path / "acr-ee", edition="enterprise", instance_id="cri-lgy0000000001") as emulator:
        emulator.add_account(ACCOUNT, PASSWORD)
        emulator.add_access_key(ACCOUNT, KEY_ID, KEY_SECRET)
        yield emulator


async def add_acr(
    api: httpx.AsyncClient, acr: AcrEmulator, *, key: str = ACCOUNT, secret: str = PASSWORD, **settings: Any
) -> int:
    body = {
        "name": "aliyun",
        "type": "ali-acr",
        "url": acr.url,
        "credential": {"type": "basic", "access_key": key, "access_secret": secret},
        "provider_settings": {"openapi_endpoint": acr.openapi_url, **settings},
    }
    return created_id(await api.post(f"{API}/registries", json=body), "/registries")


async def run_rule(api: httpx.AsyncClient, destination: int, **fields: Any) -> tuple[dict[str, Any], str]:
    """Create and run a push rule into ``lgy-images``; the execution and its first task's log."""
    policy = await create_policy(
        api, fields.pop("name", "sync-to-aliyun"), destination, dest_namespace="lgy-images", **fields
    )
    execution = await finished_execution(api, await start_execution(api, policy))
    tasks = await get_json(api, f"/replication/executions/{execution['id']}/tasks")
    log = await api.get(f"{API}/replication/executions/{execution['id']}/tasks/{tasks[0]['id']}/log")
    return execution, log.text


def pushes(acr: AcrEmulator) -> list[tuple[str, str, int]]:
    """Every write the emulator answered: upload PATCH/PUT and manifest PUT."""
    return [
        (method, path, status)
        for method, path, status in acr.requests
        if method in {"PUT", "PATCH"} and path.startswith("/v2/")
    ]


async def test_the_guides_sign_in_pushes_into_an_existing_namespace(
    api: httpx.AsyncClient, registry: RegistryServer, acr: AcrEmulator
) -> None:
    acr.add_namespace("lgy-images", ACCOUNT)
    digest = seed_image(registry, "library/nms4cloud-api", "prod-1")
    destination = await add_acr(api, acr)
    assert (await api.post(f"{API}/registries/ping", json={"id": destination})).status_code == 200

    execution, log = await run_rule(api, destination)

    assert execution["status"] == "Succeed", log
    assert "namespace lgy-images accepts pushes" in log, log
    assert inspect_raw_digest(acr, "lgy-images/nms4cloud-api", "prod-1") == digest
    assert "lgy-images/nms4cloud-api" in acr.repositories


async def test_a_missing_namespace_fails_before_any_push_with_the_guides_message(
    api: httpx.AsyncClient, registry: RegistryServer, acr: AcrEmulator
) -> None:
    seed_image(registry, "library/nms4cloud-api", "prod-1")
    destination = await add_acr(api, acr)

    execution, log = await run_rule(api, destination)

    assert execution["status"] == "Failed"
    tasks = await get_json(api, f"/replication/executions/{execution['id']}/tasks")
    assert tasks[0]["status_text"].startswith("namespace not found: lgy-images")
    assert "Create Namespace" in log
    assert "创建命名空间" in log
    assert pushes(acr) == []
    assert acr.denied, "the probe met ACR's DENIED"


async def test_with_an_access_key_the_openapi_checks_and_creates_the_namespace(
    api: httpx.AsyncClient, registry: RegistryServer, acr: AcrEmulator
) -> None:
    digest = seed_image(registry, "library/web", "v1")
    refusing = await add_acr(api, acr, key=KEY_ID, secret=KEY_SECRET)
    execution, log = await run_rule(api, refusing, name="no-create")
    assert execution["status"] == "Failed"
    assert "namespace not found: lgy-images" in log
    assert "the OpenAPI says it does not exist" in log
    assert pushes(acr) == []
    await api.delete(f"{API}/replication/policies/{(await get_json(api, '/replication/policies'))[0]['id']}")
    await api.delete(f"{API}/registries/{refusing}")

    creating = await add_acr(api, acr, key=KEY_ID, secret=KEY_SECRET, create_namespace=True)
    execution, log = await run_rule(api, creating, name="create")

    assert execution["status"] == "Succeed", log
    assert "namespace lgy-images was missing and has been created" in log
    assert acr.namespaces["lgy-images"] == ACCOUNT
    actions = {action for action, _, _ in acr.openapi_calls}
    assert {"GetAuthorizationToken", "GetNamespace", "CreateNamespace"} <= actions
    assert inspect_raw_digest(acr, "lgy-images/web", "v1") == digest


def seed_attested_index(registry: RegistryServer) -> tuple[str, str]:
    """An OCI index with one image and one BuildKit-style attestation (empty config); the index's
    digest and the image's."""
    image = build_image([BlobSpec(3_000, seed=31)], oci=True)
    attestation = build_image(
        [BlobSpec(500, seed=32, media_type="application/vnd.in-toto+json")],
        oci=True,
        config_media_type=EMPTY_CONFIG,
        artifact_type="application/vnd.in-toto+json",
    )
    index = build_index([image, attestation], oci=True)
    return push_index(registry, "library/web", "v2", index), image.digest


async def test_attestations_are_dropped_from_indexes_and_the_digest_change_is_logged(
    api: httpx.AsyncClient, registry: RegistryServer, acr: AcrEmulator
) -> None:
    acr.add_namespace("lgy-images", ACCOUNT)
    source_digest, image_digest = seed_attested_index(registry)
    destination = await add_acr(api, acr)

    execution, log = await run_rule(api, destination)

    assert execution["status"] == "Succeed", log
    pushed = inspect_raw_digest(acr, "lgy-images/web", "v2")
    assert pushed != source_digest
    assert f"the index digest changes from {source_digest} to {pushed}" in log
    raw, _ = get_manifest(acr, "lgy-images/web", "v2")
    assert [entry["digest"] for entry in json.loads(raw)["manifests"]] == [image_digest]

    again, log = await run_rule(api, destination, name="again")
    assert again["status"] == "Succeed"
    assert "up to date" in log
    assert inspect_raw_digest(acr, "lgy-images/web", "v2") == pushed


async def test_with_dropping_off_an_attested_index_is_refused_with_the_setting_to_change(
    api: httpx.AsyncClient, registry: RegistryServer, acr: AcrEmulator
) -> None:
    acr.add_namespace("lgy-images", ACCOUNT)
    seed_attested_index(registry)
    destination = await add_acr(api, acr, drop_attestations=False)

    execution, log = await run_rule(api, destination)

    assert execution["status"] == "Failed"
    assert f"rejects manifests whose config is {EMPTY_CONFIG}" in log
    assert "drop_attestations" in log
    assert not [path for method, path, _ in pushes(acr) if "/manifests/" in path]


async def test_ping_failures_say_what_to_fix(api: httpx.AsyncClient, acr: AcrEmulator) -> None:
    acr.add_account("never-opened", None)
    acr.add_access_key("never-opened", "LTAI5tNeverOpened0001", "secret-2")

    async def ping(key: str, secret: str) -> str:
        body = {
            "type": "ali-acr",
            "url": acr.url,
            "access_key": key,
            "access_secret": secret,
            "provider_settings": {"openapi_endpoint": acr.openapi_url},
        }
        return error_message(await api.post(f"{API}/registries/ping", json=body), 400, "BAD_REQUEST")

    wrong_password = await ping(ACCOUNT, "console-password")
    assert wrong_password.startswith("Failed to ping endpoint: unauthorized")
    assert "fixed password" in wrong_password
    assert "console-password" not in wrong_password

    wrong_key = await ping(KEY_ID, "not-the-secret")
    assert wrong_key.startswith("Failed to ping endpoint: unauthorized")
    assert "AccessKey" in wrong_key
    assert "not-the-secret" not in wrong_key

    never_opened = await ping("LTAI5tNeverOpened0001", "secret-2")
    assert never_opened.startswith("Failed to ping endpoint: unauthorized (USER_NOT_EXIST")
    assert "访问凭证" in never_opened

    ok = await api.post(
        f"{API}/registries/ping",
        json={
            "type": "ali-acr",
            "url": acr.url,
            "access_key": KEY_ID,
            "access_secret": KEY_SECRET,
            "provider_settings": {"openapi_endpoint": acr.openapi_url},
        },
    )
    assert ok.status_code == 200, ok.text


async def test_the_enterprise_edition_reads_its_instance_from_the_challenge(
    api: httpx.AsyncClient, registry: RegistryServer, enterprise: AcrEmulator
) -> None:
    digest = seed_image(registry, "library/web", "v1")
    destination = await add_acr(api, enterprise, key=KEY_ID, secret=KEY_SECRET, create_namespace=True)

    execution, log = await run_rule(api, destination)

    assert execution["status"] == "Succeed", log
    assert inspect_raw_digest(enterprise, "lgy-images/web", "v1") == digest
    assert enterprise.namespaces == {"lgy-images": ACCOUNT}


async def test_acr_as_a_source_is_listed_through_the_openapi(
    api: httpx.AsyncClient, registry: RegistryServer, acr: AcrEmulator
) -> None:
    acr.add_namespace("lgy-images", ACCOUNT)
    acr.add_namespace("other", ACCOUNT)
    digest = seed_image(acr.registry, "lgy-images/web", "v1")
    seed_image(acr.registry, "other/tool", "v1", seed=2)
    source = await add_acr(api, acr, key=KEY_ID, secret=KEY_SECRET)
    policy = await create_policy(
        api,
        "pull-from-aliyun",
        0,
        src_registry={"id": source},
        dest_registry=None,
        dest_namespace="mirror",
        filters=[{"type": "name", "value": "lgy-images/**"}],
    )

    execution = await finished_execution(api, await start_execution(api, policy))

    assert execution["status"] == "Succeed", execution
    assert execution["total"] == 1
    assert inspect_raw_digest(registry, "mirror/web", "v1") == digest
    assert "GetRepoListByNamespace" in {action for action, _, _ in acr.openapi_calls}


async def test_acr_as_a_source_without_an_access_key_says_why_it_cannot_be_listed(
    api: httpx.AsyncClient, acr: AcrEmulator
) -> None:
    source = await add_acr(api, acr)
    policy = await create_policy(
        api, "pull-from-aliyun", 0, src_registry={"id": source}, dest_registry=None, dest_namespace="mirror"
    )

    execution = await finished_execution(api, await start_execution(api, policy))

    assert execution["status"] == "Failed"
    assert "no /v2/_catalog" in execution["status_text"]
    assert "AccessKey" in execution["status_text"]


async def test_a_replicated_tag_deletion_removes_only_that_tag_through_the_openapi(acr: AcrEmulator) -> None:
    acr.add_namespace("lgy-images", ACCOUNT)
    image = build_image([BlobSpec(700, seed=41)])
    for tag in ("v1", "latest"):
        digest = push_image(acr.registry, "lgy-images/web", tag, image)
    now = datetime.now(UTC)
    policy = validate_policy(
        Policy(
            id=1,
            name="on-events",
            src_registry_id=0,
            dest_registry_id=1,
            dest_namespace="lgy-images",
            trigger=Trigger(TriggerType.EVENT_BASED),
            deletion=True,
            creation_time=now,
            update_time=now,
        )
    )
    settings = ProviderSettings(openapi_endpoint=acr.openapi_url)
    provider = provider_for(
        Endpoint(RegistryType.ALI_ACR, acr.url, Credentials(KEY_ID, KEY_SECRET), settings=settings)
    )
    try:
        async with provider.client() as client:
            deletion = await delete_reference(
                client,
                policy,
                "lgy-images/web",
                "v1",
                delete_tag=lambda repository, tag: provider.delete_tag(client, repository, tag),
            )
    finally:
        await provider.aclose()

    assert deletion.outcome is ImageOutcome.DELETED
    assert deletion.message == "deleted tag lgy-images/web:v1 through the registry's API"
    assert list_tags(acr.registry, "lgy-images/web") == ["latest"]
    assert manifest_digest(acr.registry, "lgy-images/web", "latest") == digest
    assert "DeleteRepoTag" in {action for action, _, _ in acr.openapi_calls}
