"""``/webhook/policies`` and ``/webhook/events``: Harbor's webhook policy shape, validation that
names the field, the auth header kept secret, conflicts and missing policies. Delivery itself is
tested end to end in ``tests/integration/test_webhooks.py``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import API, BOTH_DATABASES, created_id, error_message, get_json

HARBOR_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"
SECRET = "Bearer 9d1c-webhook-secret"


def webhook_body(name: str = "ops", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "tell ops",
        "event_types": ["REPLICATION_FINISHED", "REPLICATION_FAILED"],
        "targets": [
            {
                "type": "http",
                "address": "https://hooks.example.com/ferry",
                "auth_header": SECRET,
                "skip_cert_verify": False,
                "payload_format": "CloudEvents",
            }
        ],
        **fields,
    }


async def create_webhook(api: httpx.AsyncClient, **fields: Any) -> int:
    response = await api.post(f"{API}/webhook/policies", json=webhook_body(**fields))
    return created_id(response, "/webhook/policies")


@BOTH_DATABASES
async def test_create_and_get_show_harbors_fields_with_the_auth_header_masked(api: httpx.AsyncClient) -> None:
    webhook = await create_webhook(api)
    response = await api.get(f"{API}/webhook/policies/{webhook}")
    assert SECRET not in response.text
    shown = response.json()
    assert shown.pop("creation_time") == shown.pop("update_time")
    assert shown == {
        "id": webhook,
        "name": "ops",
        "description": "tell ops",
        "enabled": True,
        "event_types": ["REPLICATION_FINISHED", "REPLICATION_FAILED"],
        "targets": [
            {
                "type": "http",
                "address": "https://hooks.example.com/ferry",
                "auth_header": "*****",
                "skip_cert_verify": False,
                "payload_format": "CloudEvents",
            }
        ],
        "creator": "admin",
    }
    listed = await api.get(f"{API}/webhook/policies")
    assert listed.headers["x-total-count"] == "1"
    assert [item["id"] for item in listed.json()] == [webhook]
    assert SECRET not in listed.text


async def test_put_replaces_the_policy_and_the_mask_keeps_the_stored_header(api: httpx.AsyncClient) -> None:
    webhook = await create_webhook(api)
    shown = await get_json(api, f"/webhook/policies/{webhook}")
    shown["enabled"] = False
    shown["event_types"] = ["REPLICATION"]
    shown["targets"].append({"type": "slack", "address": "https://hooks.slack.example/T1/B2/c3"})
    response = await api.put(f"{API}/webhook/policies/{webhook}", json=shown)
    assert response.status_code == 200, response.text
    changed = await get_json(api, f"/webhook/policies/{webhook}")
    assert (changed["enabled"], changed["event_types"]) == (False, ["REPLICATION"])
    assert [target["auth_header"] for target in changed["targets"]] == ["*****", ""]
    assert [target["payload_format"] for target in changed["targets"]] == ["CloudEvents", "Default"]

    changed["targets"][1]["auth_header"] = "*****"  # a mask for a target that has no header stored
    refused = await api.put(f"{API}/webhook/policies/{webhook}", json=changed)
    assert error_message(refused, 400, "BAD_REQUEST").startswith("targets[1].auth_header: ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["PUSH_ARTIFACT"]}, "event_types[0]"),
        ({"targets": []}, "targets"),
        ({"targets": [{"address": "ftp://hooks.example.com"}]}, "targets[0].address"),
        ({"targets": [{"address": "hooks.example.com/ferry"}]}, "targets[0].address"),
        ({"targets": [{"address": "https://user:pw@hooks.example.com"}]}, "targets[0].address"),
        ({"targets": [{"address": "https://h.example", "type": "teams"}]}, "targets[0].type"),
        (
            {"targets": [{"address": "https://h.example", "payload_format": "Custom"}]},
            "targets[0].payload_format",
        ),
        (
            {"targets": [{"address": "https://h.example", "type": "slack", "payload_format": "CloudEvents"}]},
            "targets[0].payload_format",
        ),
        (
            {"targets": [{"address": "https://h.example", "auth_header": "a\r\nX-Evil: 1"}]},
            "targets[0].auth_header",
        ),
        (
            {"targets": [{"address": "https://h.example", "skip_cert_verify": "yes"}]},
            "targets[0].skip_cert_verify",
        ),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_invalid_input_is_400_naming_the_field(
    api: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    response = await api.post(f"{API}/webhook/policies", json=webhook_body(**change))
    message = error_message(response, 400, "BAD_REQUEST")
    assert message.startswith(f"{field}: "), message
    assert await get_json(api, "/webhook/policies") == []


async def test_a_taken_name_is_409_and_a_missing_policy_404(api: httpx.AsyncClient) -> None:
    webhook = await create_webhook(api)
    taken = await api.post(f"{API}/webhook/policies", json=webhook_body())
    assert "already exists" in error_message(taken, 409, "CONFLICT")
    other = await create_webhook(api, name="other")
    renamed = await api.put(f"{API}/webhook/policies/{other}", json=webhook_body(name="ops"))
    error_message(renamed, 409, "CONFLICT")

    assert (await api.delete(f"{API}/webhook/policies/{webhook}")).status_code == 200
    for method, path in [
        ("GET", f"/webhook/policies/{webhook}"),
        ("PUT", f"/webhook/policies/{webhook}"),
        ("DELETE", f"/webhook/policies/{webhook}"),
        ("GET", f"/webhook/policies/{webhook}/deliveries"),
        ("POST", f"/webhook/policies/{webhook}/test"),
    ]:
        body = webhook_body() if method == "PUT" else None
        response = await api.request(method, f"{API}{path}", json=body)
        assert f"webhook policy {webhook} not found" in error_message(response, 404, "NOT_FOUND")


async def test_events_lists_the_event_types_targets_and_formats(api: httpx.AsyncClient) -> None:
    assert await get_json(api, "/webhook/events") == {
        "event_type": ["REPLICATION", "REPLICATION_FINISHED", "REPLICATION_FAILED"],
        "notify_type": ["http", "slack"],
        "payload_formats": [
            {"notify_type": "http", "formats": ["Default", "CloudEvents"]},
            {"notify_type": "slack", "formats": ["Default"]},
        ],
    }


async def test_an_empty_delivery_log_is_an_empty_page(api: httpx.AsyncClient) -> None:
    webhook = await create_webhook(api)
    response = await api.get(f"{API}/webhook/policies/{webhook}/deliveries?page=1&page_size=5")
    assert response.status_code == 200
    assert (response.json(), response.headers["x-total-count"]) == ([], "0")
    bad = await api.get(f"{API}/webhook/policies/{webhook}/deliveries?q=colour=red")
    error_message(bad, 400, "BAD_REQUEST")


async def test_every_webhook_route_needs_sign_in(anonymous: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/webhook/policies"),
        ("POST", "/webhook/policies"),
        ("GET", "/webhook/policies/1"),
        ("GET", "/webhook/policies/1/deliveries"),
        ("POST", "/webhook/policies/1/test"),
        ("GET", "/webhook/events"),
    ]:
        response = await anonymous.request(method, f"{API}{path}")
        error_message(response, 401, "UNAUTHORIZED")
