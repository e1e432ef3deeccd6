"""A rule's ``trigger_settings.poll_interval`` (ferry): how often ferry watches an event-based
rule's source. It round-trips through the API and is checked with a message that names it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import API, create_registry, created_id, error_message, get_json, policy_body
from tests.support.registry import RegistryServer

Json = dict[str, Any]


@pytest.fixture
async def source(api: httpx.AsyncClient, registry_b: RegistryServer) -> int:
    return await create_registry(api, "upstream", registry_b.url)


def pull_rule(name: str, source: int, settings: Json) -> Json:
    """A pull rule (remote → Local) with an event-based trigger: ferry watches the source."""
    return policy_body(
        name,
        0,
        src_registry={"id": source},
        dest_registry=None,
        trigger={"type": "event_based", "trigger_settings": settings},
    )


async def test_the_poll_interval_round_trips_and_is_absent_when_not_given(
    api: httpx.AsyncClient, source: int
) -> None:
    body = pull_rule("watched", source, {"cron": "", "poll_interval": 60})
    policy_id = created_id(await api.post(f"{API}/replication/policies", json=body), "/replication/policies")
    shown = await get_json(api, f"/replication/policies/{policy_id}")
    assert shown["trigger"] == {"type": "event_based", "trigger_settings": {"cron": "", "poll_interval": 60}}

    for settings in ({"cron": "", "poll_interval": 0}, {"cron": ""}):
        body = pull_rule("watched", source, settings)
        response = await api.put(f"{API}/replication/policies/{policy_id}", json=body)
        assert response.status_code == 200, response.text
        shown = await get_json(api, f"/replication/policies/{policy_id}")
        assert shown["trigger"]["trigger_settings"] == settings
    # a body sent back as it was shown is accepted unchanged (what Harbor's clients do)
    response = await api.put(f"{API}/replication/policies/{policy_id}", json=shown)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("trigger", "field", "detail"),
    [
        pytest.param(
            {"type": "event_based", "trigger_settings": {"poll_interval": 10}},
            "trigger.poll_interval",
            "10 s is out of range",
            id="too-short",
        ),
        pytest.param(
            {"type": "event_based", "trigger_settings": {"poll_interval": 100_000}},
            "trigger.poll_interval",
            "out of range",
            id="too-long",
        ),
        pytest.param(
            {"type": "scheduled", "trigger_settings": {"cron": "0 0 2 * * *", "poll_interval": 60}},
            "trigger.poll_interval",
            "the trigger is scheduled",
            id="scheduled",
        ),
        pytest.param(
            {"type": "event_based", "trigger_settings": {"poll_interval": "often"}},
            "trigger.trigger_settings.poll_interval",
            "integer",
            id="not-a-number",
        ),
    ],
)
async def test_a_bad_poll_interval_gets_400_naming_it(
    api: httpx.AsyncClient, source: int, trigger: Json, field: str, detail: str
) -> None:
    body = {**pull_rule("bad", source, {}), "trigger": trigger}
    message = error_message(await api.post(f"{API}/replication/policies", json=body), 400, "BAD_REQUEST")
    assert message.startswith(field), message
    assert detail in message
    assert await get_json(api, "/replication/policies") == []
