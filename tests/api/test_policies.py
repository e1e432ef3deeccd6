"""``/replication/policies``: Harbor's body in, every Harbor field out, whole-policy PUT, and bad
input refused with 400 naming the field (nothing stored)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ferry.replication.domain.registry import Registry
from tests.api.conftest import (
    API,
    BOTH_DATABASES,
    Json,
    create_policy,
    create_registry,
    created_id,
    error_message,
    get_json,
    policy_body,
)
from tests.support.registry import RegistryServer

POLICY_FIELDS = {
    "id",
    "name",
    "description",
    "creator",
    "src_registry",
    "dest_registry",
    "dest_namespace",
    "dest_namespace_replace_count",
    "trigger",
    "filters",
    "deletion",
    "replicate_deletion",
    "override",
    "enabled",
    "speed",
    "copy_by_chunk",
    "single_active_replication",
    "creation_time",
    "update_time",
    "next_scheduled_time",
}


async def policy_names(api: httpx.AsyncClient) -> list[str]:
    return [item["name"] for item in await get_json(api, "/replication/policies?page_size=100")]


SECRET = "s3cret-PASSWORD"


@pytest.fixture
async def dest(api: httpx.AsyncClient, registry: RegistryServer) -> int:
    """A destination with a secret (the plain registry ignores it), to see it masked inside a policy."""
    credential = {"type": "basic", "access_key": "robot", "access_secret": SECRET}
    return await create_registry(api, "dest", registry.url, credential=credential)


@BOTH_DATABASES
async def test_create_with_harbors_body_and_get_every_harbor_field(
    api: httpx.AsyncClient, dest: int, local: Registry
) -> None:
    body = policy_body(
        "push-to-dest",
        dest,
        description="every night",
        filters=[
            {"type": "name", "value": "library/**"},
            {"type": "tag", "value": "v*", "decoration": "excludes"},
            {"type": "label", "value": ["production"]},
            {"type": "resource", "value": "image"},
        ],
        trigger={"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *"}},
        speed=1024,
        copy_by_chunk=True,
        override=False,
    )
    del body["dest_namespace_replace_count"]
    policy_id = created_id(await api.post(f"{API}/replication/policies", json=body), "/replication/policies")

    shown = await get_json(api, f"/replication/policies/{policy_id}")
    assert set(shown) == POLICY_FIELDS
    destination = await get_json(api, f"/registries/{dest}")
    assert destination["credential"]["access_secret"] == "*****"
    creation_time = shown.pop("creation_time")
    update_time = shown.pop("update_time")
    assert isinstance(creation_time, str)
    assert creation_time.endswith("Z")
    assert update_time == creation_time
    next_run = shown.pop("next_scheduled_time")  # a ferry addition; tests/api/test_schedules.py
    assert next_run.endswith("T02:00:00.000000Z")
    source = shown.pop("src_registry")
    assert (source["id"], source["name"], source["url"]) == (0, "Local", local.url)
    assert shown == {
        "id": policy_id,
        "name": "push-to-dest",
        "description": "every night",
        "creator": "admin",
        "dest_registry": destination,
        "dest_namespace": "mirror",
        "dest_namespace_replace_count": -1,
        "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *"}},
        "filters": [
            {"type": "name", "value": "library/**"},
            {"type": "tag", "value": "v*", "decoration": "excludes"},
            {"type": "label", "value": ["production"], "decoration": "matches"},
            {"type": "resource", "value": "image"},
        ],
        "deletion": False,
        "replicate_deletion": False,
        "override": False,
        "enabled": True,
        "speed": 1024,
        "copy_by_chunk": True,
        "single_active_replication": False,
    }
    assert SECRET not in (await api.get(f"{API}/replication/policies")).text
    assert await get_json(api, "/replication/policies") == [
        await get_json(api, f"/replication/policies/{policy_id}")
    ]


async def test_the_local_registry_may_be_given_as_id_0_and_a_pull_rule_has_it_as_destination(
    api: httpx.AsyncClient, dest: int
) -> None:
    push = await create_policy(api, "push", dest, src_registry={"id": 0})
    assert (await get_json(api, f"/replication/policies/{push}"))["src_registry"]["id"] == 0
    pull = await create_policy(api, "pull", 0, src_registry={"id": dest}, dest_registry=None)
    shown = await get_json(api, f"/replication/policies/{pull}")
    assert (shown["src_registry"]["id"], shown["dest_registry"]["id"]) == (dest, 0)


async def test_a_remote_to_remote_rule_is_allowed(
    api: httpx.AsyncClient, dest: int, registry_b: RegistryServer
) -> None:
    other = await create_registry(api, "other", registry_b.url)
    policy_id = await create_policy(api, "mirror", dest, src_registry={"id": other})
    shown = await get_json(api, f"/replication/policies/{policy_id}")
    assert (shown["src_registry"]["name"], shown["dest_registry"]["name"]) == ("other", "dest")


@pytest.mark.parametrize(
    ("fields", "deletion"),
    [
        ({"replicate_deletion": True}, True),
        ({"deletion": True}, True),
        ({"deletion": True, "replicate_deletion": True}, True),
        ({"deletion": False, "replicate_deletion": False}, False),
        ({}, False),
    ],
)
async def test_deletion_and_replicate_deletion_are_one_setting(
    api: httpx.AsyncClient, dest: int, fields: dict[str, bool], deletion: bool
) -> None:
    policy_id = await create_policy(api, "rule", dest, **fields)
    shown = await get_json(api, f"/replication/policies/{policy_id}")
    assert (shown["deletion"], shown["replicate_deletion"]) == (deletion, deletion)


@pytest.mark.parametrize(
    ("fields", "field", "detail"),
    [
        pytest.param(
            {"deletion": True, "replicate_deletion": False},
            "replicate_deletion",
            "contradicts",
            id="deletion",
        ),
        pytest.param({"filters": [{"type": "name", "value": "[a-"}]}, "filters[0].value", "", id="glob"),
        pytest.param(
            {"dest_namespace": "Bad Namespace!"}, "dest_namespace", "not a repository path", id="namespace"
        ),
        pytest.param(
            {"dest_namespace_replace_count": 200}, "dest_namespace_replace_count", "200", id="replace-count"
        ),
        pytest.param(
            {"dest_namespace_replace_count": -2}, "dest_namespace_replace_count", "-2", id="replace-count-low"
        ),
        pytest.param(
            {"trigger": {"type": "scheduled", "trigger_settings": {"cron": ""}}},
            "trigger.cron",
            "required",
            id="scheduled-without-cron",
        ),
        pytest.param(
            {"trigger": {"type": "scheduled"}}, "trigger.cron", "required", id="scheduled-no-settings"
        ),
        pytest.param(
            {"trigger": {"type": "manual", "trigger_settings": {"cron": "0 0 2 * * *"}}},
            "trigger.cron",
            "manual",
            id="cron-on-manual",
        ),
        pytest.param({"trigger": {"type": "hourly"}}, "trigger.type", "hourly", id="trigger-type"),
        pytest.param(
            {"filters": [{"type": "name", "value": "x"}, {"type": "colour", "value": "red"}]},
            "filters[1].type",
            "colour",
            id="filter-type",
        ),
        pytest.param(
            {"filters": [{"type": "name", "value": "library/**"}, {"type": "label", "value": "production"}]},
            "filters[1].value",
            "list",
            id="label-as-string",
        ),
        pytest.param(
            {"filters": [{"type": "tag", "value": "v*", "decoration": "sometimes"}]},
            "filters[0].decoration",
            "sometimes",
            id="decoration",
        ),
        pytest.param(
            {"filters": [{"type": "tag", "value": 7}]}, "filters[0].value", "", id="filter-value-type"
        ),
        pytest.param(
            {"dest_registry": {"id": 999}}, "dest_registry", "registry 999 does not exist", id="unknown-dest"
        ),
        pytest.param(
            {"src_registry": {"id": 999}}, "src_registry", "registry 999 does not exist", id="unknown-src"
        ),
        pytest.param({"dest_registry": {}}, "dest_registry.id", "required", id="dest-without-id"),
        pytest.param({"dest_registry": None}, "dest_registry", "source registry too", id="local-to-local"),
        pytest.param({"dest_registry": {"id": "1"}}, "dest_registry.id", "integer", id="dest-id-type"),
        pytest.param({"speed": "fast"}, "speed", "integer", id="speed-type"),
        pytest.param({"enabled": "yes"}, "enabled", "boolean", id="enabled-type"),
        pytest.param({"colour": "blue"}, "colour", "unknown field", id="unknown-field"),
        pytest.param({"name": ""}, "name", "", id="empty-name"),
        pytest.param(
            {"single_active_replication": True, "trigger": {"type": "event_based"}},
            "single_active_replication",
            "event_based",
            id="single-active-event-based",
        ),
    ],
)
async def test_bad_input_gets_400_naming_the_field_and_stores_nothing(
    api: httpx.AsyncClient, dest: int, fields: dict[str, Any], field: str, detail: str
) -> None:
    response = await api.post(f"{API}/replication/policies", json={**policy_body("bad", dest), **fields})
    message = error_message(response, 400, "BAD_REQUEST")
    assert message.startswith(field), message
    assert detail in message
    assert await policy_names(api) == []


@pytest.mark.parametrize(
    "cron",
    [
        "every night",  # not cron at all
        "0 0 2 * *",  # five fields: Harbor's cron has six, seconds first
        "0 0 25 * * *",  # hour 25
        "30 0 2 * * *",  # replication needs the seconds field to be 0
        "0 * 2 * * *",  # replication refuses * for minutes
        "@daily",  # descriptors are not Harbor's syntax
    ],
)
async def test_an_invalid_cron_is_400_naming_trigger_cron(
    api: httpx.AsyncClient, dest: int, cron: str
) -> None:
    response = await api.post(
        f"{API}/replication/policies",
        json=policy_body("bad", dest, trigger={"type": "scheduled", "trigger_settings": {"cron": cron}}),
    )
    assert error_message(response, 400, "BAD_REQUEST").startswith("trigger.cron")
    assert await policy_names(api) == []


async def test_a_valid_cron_is_stored_as_given(api: httpx.AsyncClient, dest: int) -> None:
    trigger = {"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *", "timezone": "Asia/Shanghai"}}
    created = await api.post(
        f"{API}/replication/policies", json=policy_body("nightly", dest, trigger=trigger)
    )
    assert created.status_code == 201, created.text
    stored = (await api.get(created.headers["Location"])).json()
    assert stored["trigger"] == trigger


async def test_a_missing_name_and_invalid_json_are_400(api: httpx.AsyncClient, dest: int) -> None:
    body = policy_body("x", dest)
    del body["name"]
    assert error_message(await api.post(f"{API}/replication/policies", json=body), 400, "BAD_REQUEST") == (
        "name: field required"
    )
    invalid = await api.post(
        f"{API}/replication/policies", content=b"{'name': 'x'}", headers={"Content-Type": "application/json"}
    )
    assert error_message(invalid, 400, "BAD_REQUEST").startswith("request body: the body is not valid JSON")
    assert await policy_names(api) == []


@BOTH_DATABASES
async def test_a_duplicate_name_is_a_conflict(api: httpx.AsyncClient, dest: int) -> None:
    await create_policy(api, "twin", dest)
    response = await api.post(f"{API}/replication/policies", json=policy_body("twin", dest))
    assert "a replication rule named 'twin' already exists" in error_message(response, 409, "CONFLICT")
    assert await policy_names(api) == ["twin"]


@BOTH_DATABASES
async def test_put_replaces_the_whole_policy_and_keeps_creation_time(
    api: httpx.AsyncClient, dest: int
) -> None:
    policy_id = await create_policy(
        api,
        "replaced",
        dest,
        description="before",
        dest_namespace_replace_count=2,
        filters=[{"type": "name", "value": "library/**"}],
        override=False,
        speed=100,
        copy_by_chunk=True,
        deletion=True,
    )
    before = await get_json(api, f"/replication/policies/{policy_id}")
    response = await api.put(
        f"{API}/replication/policies/{policy_id}", json={"name": "replaced", "dest_registry": {"id": dest}}
    )
    assert response.status_code == 200, response.text
    assert response.content == b""
    after = await get_json(api, f"/replication/policies/{policy_id}")
    assert after["creation_time"] == before["creation_time"]
    assert after["update_time"] != before["update_time"]
    assert after["creator"] == "admin"
    # every omitted field is back to its default
    assert {key: after[key] for key in ("description", "dest_namespace", "dest_namespace_replace_count")} == {
        "description": "",
        "dest_namespace": "",
        "dest_namespace_replace_count": -1,
    }
    assert after["filters"] == []
    assert after["trigger"] == {"type": "manual", "trigger_settings": {"cron": ""}}
    assert (after["override"], after["speed"], after["copy_by_chunk"], after["deletion"]) == (
        True,
        0,
        False,
        False,
    )
    assert after["enabled"] is True


async def test_what_get_returned_is_accepted_by_put(api: httpx.AsyncClient, dest: int) -> None:
    policy_id = await create_policy(
        api,
        "round-trip",
        dest,
        filters=[{"type": "name", "value": "library/**"}, {"type": "label", "value": ["production"]}],
        trigger={"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *"}},
    )
    shown: Json = await get_json(api, f"/replication/policies/{policy_id}")
    edited = {**shown, "description": "edited after GET"}
    response = await api.put(f"{API}/replication/policies/{policy_id}", json=edited)
    assert response.status_code == 200, response.text
    again = await get_json(api, f"/replication/policies/{policy_id}")
    assert again["description"] == "edited after GET"
    ignore = {"description", "update_time"}
    assert {k: v for k, v in again.items() if k not in ignore} == {
        k: v for k, v in shown.items() if k not in ignore
    }


async def test_put_refuses_bad_input_unknown_ids_and_taken_names_and_keeps_the_policy(
    api: httpx.AsyncClient, dest: int
) -> None:
    first = await create_policy(api, "first", dest)
    await create_policy(api, "second", dest)
    before = await get_json(api, f"/replication/policies/{first}")
    bad = await api.put(
        f"{API}/replication/policies/{first}",
        json=policy_body("first", dest, filters=[{"type": "tag", "value": "[a-"}]),
    )
    assert error_message(bad, 400, "BAD_REQUEST").startswith("filters[0].value")
    taken = await api.put(f"{API}/replication/policies/{first}", json=policy_body("second", dest))
    assert "'second' already exists" in error_message(taken, 409, "CONFLICT")
    unknown_registry = await api.put(f"{API}/replication/policies/{first}", json=policy_body("first", 999))
    assert error_message(unknown_registry, 400, "BAD_REQUEST").startswith("dest_registry")
    assert await get_json(api, f"/replication/policies/{first}") == before
    missing = await api.put(f"{API}/replication/policies/999", json=policy_body("first", dest))
    assert "replication rule 999 not found" in error_message(missing, 404, "NOT_FOUND")


async def test_unknown_policy_ids_are_404(api: httpx.AsyncClient) -> None:
    for method in ("GET", "DELETE"):
        response = await api.request(method, f"{API}/replication/policies/999")
        assert "replication rule 999 not found" in error_message(response, 404, "NOT_FOUND")


async def test_delete_removes_the_policy(api: httpx.AsyncClient, dest: int) -> None:
    policy_id = await create_policy(api, "short-lived", dest)
    response = await api.delete(f"{API}/replication/policies/{policy_id}")
    assert response.status_code == 200
    assert response.content == b""
    error_message(await api.get(f"{API}/replication/policies/{policy_id}"), 404, "NOT_FOUND")
    assert await policy_names(api) == []


async def test_list_filters_by_name_and_q(api: httpx.AsyncClient, dest: int) -> None:
    for name in ("nightly-acr", "nightly-hub", "hourly-acr"):
        await create_policy(api, name, dest)
    assert [item["name"] for item in await get_json(api, "/replication/policies?name=nightly")] == [
        "nightly-acr",
        "nightly-hub",
    ]
    assert [
        item["name"] for item in await get_json(api, "/replication/policies?q=name%3D~acr&sort=-name")
    ] == [
        "nightly-acr",
        "hourly-acr",
    ]
    assert [item["name"] for item in await get_json(api, "/replication/policies?q=name%3Dhourly-acr")] == [
        "hourly-acr"
    ]
