"""``/registries``, ``/registries/ping``, ``/registries/{id}/info``, ``/replication/adapters`` and
``/replication/adapterinfos`` against real registries (plain and htpasswd) and a closed port."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    API,
    BOTH_DATABASES,
    create_policy,
    create_registry,
    created_id,
    error_message,
    get_json,
    registry_body,
)
from tests.support.registry import RegistryServer

HARBOR_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"


def basic_credential(server: RegistryServer, secret: str | None = None) -> dict[str, str]:
    assert server.username is not None
    assert server.password is not None
    return {"type": "basic", "access_key": server.username, "access_secret": secret or server.password}


async def registry_names(api: httpx.AsyncClient) -> list[str]:
    return [item["name"] for item in await get_json(api, "/registries?page_size=100")]


@BOTH_DATABASES
async def test_create_answers_201_with_location_and_get_shows_harbor_fields_with_the_secret_masked(
    api: httpx.AsyncClient, basic_registry: RegistryServer
) -> None:
    response = await api.post(
        f"{API}/registries",
        json=registry_body(
            "harbor-prod",
            basic_registry.url,
            description="the production mirror",
            credential=basic_credential(basic_registry),
        ),
    )
    registry_id = created_id(response, "/registries")
    shown = await get_json(api, f"/registries/{registry_id}")
    assert set(shown) == {
        "id",
        "name",
        "description",
        "type",
        "url",
        "credential",
        "insecure",
        "ca_certificate",
        "provider_settings",
        "status",
        "creation_time",
        "update_time",
    }
    assert shown["provider_settings"] == {
        "openapi_endpoint": None,
        "region": None,
        "instance_id": None,
        "create_namespace": None,
        "drop_attestations": None,
    }
    assert shown["id"] == registry_id
    assert shown["name"] == "harbor-prod"
    assert shown["description"] == "the production mirror"
    assert shown["type"] == "docker-registry"
    assert shown["url"] == basic_registry.url
    assert shown["credential"] == {
        "type": "basic",
        "access_key": basic_registry.username,
        "access_secret": "*****",
    }
    assert shown["insecure"] is False
    assert shown["ca_certificate"] == ""
    assert shown["status"] == "healthy"
    for field in ("creation_time", "update_time"):
        assert isinstance(shown[field], str)
        assert shown[field].endswith("Z")
    assert basic_registry.password is not None
    assert basic_registry.password not in (await api.get(f"{API}/registries")).text
    assert await get_json(api, "/registries") == [shown]


async def test_an_unreachable_registry_is_stored_unhealthy(api: httpx.AsyncClient, closed_url: str) -> None:
    registry_id = await create_registry(api, "gone", closed_url)
    shown = await get_json(api, f"/registries/{registry_id}")
    assert shown["status"] == "unhealthy"
    assert shown["credential"] == {"type": "basic", "access_key": "", "access_secret": ""}


async def test_a_registry_with_wrong_credentials_is_stored_unhealthy(
    api: httpx.AsyncClient, basic_registry: RegistryServer
) -> None:
    registry_id = await create_registry(
        api, "wrong", basic_registry.url, credential=basic_credential(basic_registry, "not-it")
    )
    assert (await get_json(api, f"/registries/{registry_id}"))["status"] == "unhealthy"


@BOTH_DATABASES
async def test_a_duplicate_name_is_a_conflict(api: httpx.AsyncClient, registry_b: RegistryServer) -> None:
    await create_registry(api, "twin", registry_b.url)
    response = await api.post(f"{API}/registries", json=registry_body("twin", registry_b.url))
    assert "a registry named 'twin' already exists" in error_message(response, 409, "CONFLICT")
    assert await registry_names(api) == ["twin"]


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        pytest.param({"url": "ftp://x"}, "url", "does not start with http:// or https://", id="ftp-url"),
        pytest.param({"url": "https://registry.example.com/v2"}, "url", "has a path", id="url-with-path"),
        pytest.param({"url": ""}, "url", "must not be empty", id="empty-url"),
        pytest.param({"colour": "blue"}, "colour", "unknown field", id="unknown-field"),
        pytest.param({"insecure": "yes"}, "insecure", "boolean", id="wrong-type"),
        pytest.param({"type": "nexus"}, "type", "nexus", id="unknown-type"),
        pytest.param({"name": "Local"}, "name", "reserved", id="reserved-name"),
        pytest.param({"name": "x" * 65}, "name", "", id="long-name"),
        pytest.param(
            {"credential": {"type": "basic", "access_secret": "pw"}}, "credential.access_key", "", id="no-key"
        ),
        pytest.param({"credential": {"type": "token"}}, "credential.type", "", id="credential-type"),
        pytest.param({"credential": {"access_key": 7}}, "credential.access_key", "string", id="key-type"),
        pytest.param({"ca_certificate": "not a certificate"}, "ca_certificate", "", id="ca-certificate"),
    ],
)
async def test_bad_input_gets_400_naming_the_field_and_stores_nothing(
    api: httpx.AsyncClient, registry: RegistryServer, body: dict[str, Any], field: str, detail: str
) -> None:
    await create_registry(api, "existing", registry.url)
    response = await api.post(f"{API}/registries", json={**registry_body("new", registry.url), **body})
    message = error_message(response, 400, "BAD_REQUEST")
    assert message.startswith(f"{field}: "), message
    assert detail in message
    assert await registry_names(api) == ["existing"]


async def test_a_missing_name_and_invalid_json_are_400(
    api: httpx.AsyncClient, registry_b: RegistryServer
) -> None:
    missing = await api.post(f"{API}/registries", json={"type": "docker-registry", "url": registry_b.url})
    assert error_message(missing, 400, "BAD_REQUEST") == "name: field required"
    invalid = await api.post(
        f"{API}/registries", content=b'{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert error_message(invalid, 400, "BAD_REQUEST").startswith("request body: the body is not valid JSON")
    not_an_object = await api.post(f"{API}/registries", json=["name"])
    assert "request body" in error_message(not_an_object, 400, "BAD_REQUEST")
    assert await registry_names(api) == []


async def test_a_url_carrying_a_password_is_refused_without_echoing_it(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{API}/registries", json=registry_body("leaky", "https://robot:Hunter2-Secret@registry.example.com")
    )
    message = error_message(response, 400, "BAD_REQUEST")
    assert message.startswith("url: ")
    assert "user name or password" in message
    assert "Hunter2-Secret" not in message
    assert "Hunter2-Secret" not in response.text
    assert await registry_names(api) == []


@BOTH_DATABASES
async def test_put_takes_a_flat_body_and_changes_only_the_given_fields(
    api: httpx.AsyncClient, basic_registry: RegistryServer
) -> None:
    registry_id = await create_registry(
        api, "edited", basic_registry.url, description="before", credential=basic_credential(basic_registry)
    )
    before = await get_json(api, f"/registries/{registry_id}")
    response = await api.put(f"{API}/registries/{registry_id}", json={"description": "after"})
    assert response.status_code == 200, response.text
    after = await get_json(api, f"/registries/{registry_id}")
    assert after["description"] == "after"
    assert after["update_time"] != before["update_time"]
    unchanged = {key: value for key, value in after.items() if key not in {"description", "update_time"}}
    assert unchanged == {
        key: value for key, value in before.items() if key not in {"description", "update_time"}
    }

    renamed = await api.put(f"{API}/registries/{registry_id}", json={"name": "renamed", "insecure": True})
    assert renamed.status_code == 200, renamed.text
    shown = await get_json(api, f"/registries/{registry_id}")
    assert (shown["name"], shown["insecure"], shown["description"]) == ("renamed", True, "after")


async def test_put_with_the_masked_secret_keeps_the_stored_secret(
    api: httpx.AsyncClient, basic_registry: RegistryServer
) -> None:
    registry_id = await create_registry(
        api, "masked", basic_registry.url, credential=basic_credential(basic_registry)
    )
    shown = await get_json(api, f"/registries/{registry_id}")
    # what a UI sends back after showing the registry: the mask instead of the secret
    response = await api.put(
        f"{API}/registries/{registry_id}",
        json={
            "description": "edited in the UI",
            "credential_type": shown["credential"]["type"],
            "access_key": shown["credential"]["access_key"],
            "access_secret": shown["credential"]["access_secret"],
        },
    )
    assert response.status_code == 200, response.text
    assert (await get_json(api, f"/registries/{registry_id}"))["status"] == "healthy"
    ping = await api.post(f"{API}/registries/ping", json={"id": registry_id})
    assert ping.status_code == 200, ping.text

    # a real new secret does replace it (and the health check says so)
    wrong = await api.put(f"{API}/registries/{registry_id}", json={"access_secret": "a-wrong-one"})
    assert wrong.status_code == 200, wrong.text
    assert (await get_json(api, f"/registries/{registry_id}"))["status"] == "unhealthy"
    failed = await api.post(f"{API}/registries/ping", json={"id": registry_id})
    assert error_message(failed, 400, "BAD_REQUEST").startswith("Failed to ping endpoint: unauthorized")


async def test_put_refuses_bad_input_and_keeps_the_registry(
    api: httpx.AsyncClient, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    first = await create_registry(api, "first", registry.url)
    await create_registry(api, "second", registry_b.url)
    before = await get_json(api, f"/registries/{first}")
    for body, status, code, field in (
        ({"url": "ftp://x"}, 400, "BAD_REQUEST", "url"),
        ({"type": "harbor"}, 400, "BAD_REQUEST", "type"),  # the flat body has no type
        ({"insecure": "yes"}, 400, "BAD_REQUEST", "insecure"),
        ({"name": "second"}, 409, "CONFLICT", ""),
    ):
        response = await api.put(f"{API}/registries/{first}", json=body)
        assert field in error_message(response, status, code)
    assert await get_json(api, f"/registries/{first}") == before


async def test_a_registry_a_policy_uses_cannot_be_deleted(
    api: httpx.AsyncClient, registry_b: RegistryServer
) -> None:
    registry_id = await create_registry(api, "in-use", registry_b.url)
    policy_id = await create_policy(api, "nightly-push", registry_id)
    response = await api.delete(f"{API}/registries/{registry_id}")
    message = error_message(response, 412, "PRECONDITION")
    assert "nightly-push" in message
    assert (await api.get(f"{API}/registries/{registry_id}")).status_code == 200

    assert (await api.delete(f"{API}/replication/policies/{policy_id}")).status_code == 200
    deleted = await api.delete(f"{API}/registries/{registry_id}")
    assert deleted.status_code == 200
    assert await get_json(api, "/registries") == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/registries/999", None),
        ("PUT", "/registries/999", {"description": "x"}),
        ("DELETE", "/registries/999", None),
        ("GET", "/registries/999/info", None),
        ("POST", "/registries/ping", {"id": 999}),
    ],
)
async def test_an_unknown_registry_is_404(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await api.request(method, f"{API}{path}", json=body)
    assert "registry 999 not found" in error_message(response, 404, "NOT_FOUND")


async def test_a_non_numeric_id_is_400(api: httpx.AsyncClient) -> None:
    assert "id" in error_message(await api.get(f"{API}/registries/abc"), 400, "BAD_REQUEST")


async def test_ping_by_id_by_url_and_with_wrong_credentials(
    api: httpx.AsyncClient, basic_registry: RegistryServer, closed_url: str
) -> None:
    registry_id = await create_registry(
        api, "pinged", basic_registry.url, credential=basic_credential(basic_registry)
    )
    by_id = await api.post(f"{API}/registries/ping", json={"id": registry_id})
    assert by_id.status_code == 200, by_id.text

    assert basic_registry.username is not None
    by_url = await api.post(
        f"{API}/registries/ping",
        json={
            "type": "docker-registry",
            "url": basic_registry.url,
            "credential_type": "basic",
            "access_key": basic_registry.username,
            "access_secret": basic_registry.password,
        },
    )
    assert by_url.status_code == 200, by_url.text

    wrong = await api.post(
        f"{API}/registries/ping",
        json={"url": basic_registry.url, "access_key": basic_registry.username, "access_secret": "wrong"},
    )
    assert error_message(wrong, 400, "BAD_REQUEST").startswith("Failed to ping endpoint: unauthorized")

    anonymous = await api.post(f"{API}/registries/ping", json={"url": basic_registry.url})
    assert error_message(anonymous, 400, "BAD_REQUEST").startswith("Failed to ping endpoint: unauthorized")

    unreachable = await api.post(f"{API}/registries/ping", json={"url": closed_url})
    assert error_message(unreachable, 400, "BAD_REQUEST").startswith("Failed to ping endpoint: unreachable")

    no_url = await api.post(f"{API}/registries/ping", json={})
    assert error_message(no_url, 400, "BAD_REQUEST").startswith("url: field required")

    bad_url = await api.post(f"{API}/registries/ping", json={"url": "ftp://x"})
    assert error_message(bad_url, 400, "BAD_REQUEST").startswith("url: ")

    # nothing was created by pinging
    assert await registry_names(api) == ["pinged"]


async def test_ping_by_id_with_other_credentials_tests_them_without_saving_them(
    api: httpx.AsyncClient, basic_registry: RegistryServer
) -> None:
    registry_id = await create_registry(
        api, "stored", basic_registry.url, credential=basic_credential(basic_registry)
    )
    trial = await api.post(f"{API}/registries/ping", json={"id": registry_id, "access_secret": "a-typo"})
    assert error_message(trial, 400, "BAD_REQUEST").startswith("Failed to ping endpoint: unauthorized")
    shown = await get_json(api, f"/registries/{registry_id}")
    assert shown["status"] == "healthy"  # the stored credentials still work
    assert (await api.post(f"{API}/registries/ping", json={"id": registry_id})).status_code == 200


async def test_registry_info(api: httpx.AsyncClient, registry_b: RegistryServer) -> None:
    registry_id = await create_registry(api, "info", registry_b.url)
    info = await get_json(api, f"/registries/{registry_id}/info")
    assert set(info) == {
        "type",
        "description",
        "supported_resource_filters",
        "supported_triggers",
        "supported_copy_by_chunk",
    }
    assert info["type"] == "docker-registry"
    assert [item["type"] for item in info["supported_resource_filters"]] == [
        "name",
        "tag",
        "label",
        "resource",
    ]
    assert all(set(item) <= {"type", "style", "values"} for item in info["supported_resource_filters"])
    # a remote source takes event-based triggers too: ferry watches it (docs/triggers.md)
    assert info["supported_triggers"] == ["manual", "scheduled", "event_based"]
    assert info["supported_copy_by_chunk"] is True
    local = await get_json(api, "/registries/0/info")
    assert local["supported_triggers"] == ["manual", "scheduled", "event_based"]


async def test_adapters_and_adapterinfos(api: httpx.AsyncClient) -> None:
    adapters = await get_json(api, "/replication/adapters")
    assert isinstance(adapters, list)
    assert {"ali-acr", "docker-registry", "harbor", "docker-hub"} <= set(adapters)
    infos = await get_json(api, "/replication/adapterinfos")
    assert set(infos) == set(adapters)
    for info in infos.values():
        assert set(info) == {"endpoint_pattern", "credential_pattern"}
    acr = infos["ali-acr"]["endpoint_pattern"]
    assert acr["endpoint_type"] == "EndpointPatternTypeList"
    assert {"key": "cn-hangzhou", "value": "https://registry.cn-hangzhou.aliyuncs.com"} in acr["endpoints"]
    assert infos["docker-registry"]["endpoint_pattern"] == {
        "endpoint_type": "EndpointPatternTypeFree",
        "endpoints": [],
    }
    assert infos["docker-registry"]["credential_pattern"] is None
    credentials = infos["ali-acr"]["credential_pattern"]
    assert credentials["access_key_type"] == "AccessKeyTypeStandard"
    assert credentials["access_secret_type"] == "AccessSecretTypePass"
    assert "fixed password" in credentials["access_secret_data"]
    assert "AccessKey ID" in credentials["access_key_data"]


async def test_a_ping_by_id_records_the_stored_registry_status(
    api: httpx.AsyncClient, registry_b: RegistryServer
) -> None:
    registry_id = await create_registry(api, "going-away", registry_b.url)
    assert (await get_json(api, f"/registries/{registry_id}"))["status"] == "healthy"
    registry_b.stop()
    ping = await api.post(f"{API}/registries/ping", json={"id": registry_id})
    assert error_message(ping, 400, "BAD_REQUEST").startswith("Failed to ping endpoint: unreachable")
    assert (await get_json(api, f"/registries/{registry_id}"))["status"] == "unhealthy"
