"""Schedules in the API (ferry additions): a rule's ``next_scheduled_time`` and ``POST /cron/preview``.

The app here has a fixed clock, so the next runs are known to the second."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from ferry.api.app import create_app
from tests.api.conftest import (
    ADMIN_PASSWORD,
    API,
    BASE_URL,
    Ferry,
    create_policy,
    create_registry,
    error_message,
    get_json,
)
from tests.support.registry import RegistryServer

NOW = datetime(2026, 12, 2, 15, 0, 30, tzinfo=UTC)


@pytest.fixture
async def at_now(ferry: Ferry) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as admin, on an app whose clock says ``NOW``."""
    app = create_app(replace(ferry.context, clock=lambda: NOW))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, auth=("admin", ADMIN_PASSWORD)
    ) as client:
        yield client


@pytest.fixture
async def dest(at_now: httpx.AsyncClient, registry_b: RegistryServer) -> int:
    return await create_registry(at_now, "dest", registry_b.url)


def schedule(cron: str, timezone: str | None = None) -> dict[str, object]:
    settings = {"cron": cron} if timezone is None else {"cron": cron, "timezone": timezone}
    return {"type": "scheduled", "trigger_settings": settings}


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        pytest.param(schedule("0 0 2 * * *"), "2026-12-03T02:00:00.000000Z", id="utc"),
        pytest.param(schedule("0 0 2 * * *", "Asia/Shanghai"), "2026-12-02T18:00:00.000000Z", id="shanghai"),
        pytest.param(schedule("0 */15 * * * *"), "2026-12-02T15:15:00.000000Z", id="quarter-hour"),
        pytest.param({"type": "manual", "trigger_settings": {"cron": ""}}, None, id="manual"),
    ],
)
async def test_a_rule_shows_its_next_run_in_utc(
    at_now: httpx.AsyncClient, dest: int, trigger: dict[str, object], expected: str | None
) -> None:
    policy_id = await create_policy(at_now, "nightly", dest, trigger=trigger)
    assert (await get_json(at_now, f"/replication/policies/{policy_id}"))["next_scheduled_time"] == expected
    (listed,) = await get_json(at_now, "/replication/policies")
    assert listed["next_scheduled_time"] == expected


async def test_a_disabled_rule_has_no_next_run(at_now: httpx.AsyncClient, dest: int) -> None:
    policy_id = await create_policy(at_now, "nightly", dest, trigger=schedule("0 0 2 * * *"), enabled=False)
    assert (await get_json(at_now, f"/replication/policies/{policy_id}"))["next_scheduled_time"] is None


async def test_a_rule_as_shown_may_be_put_back(at_now: httpx.AsyncClient, dest: int) -> None:
    policy_id = await create_policy(at_now, "nightly", dest, trigger=schedule("0 0 2 * * *"))
    shown = await get_json(at_now, f"/replication/policies/{policy_id}")
    assert shown["next_scheduled_time"] is not None
    response = await at_now.put(f"{API}/replication/policies/{policy_id}", json=shown)
    assert response.status_code == 200, response.text


async def test_preview_shows_the_next_runs(at_now: httpx.AsyncClient) -> None:
    response = await at_now.post(f"{API}/cron/preview", json={"cron": " 0 0  2 * * * ", "count": 3})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "cron": "0 0 2 * * *",
        "timezone": None,
        "next_runs": [f"2026-12-0{day}T02:00:00.000000Z" for day in (3, 4, 5)],
    }


async def test_preview_in_a_time_zone_defaults_to_five_runs(at_now: httpx.AsyncClient) -> None:
    response = await at_now.post(
        f"{API}/cron/preview", json={"cron": "0 30 9 * * MON-FRI", "timezone": "Asia/Shanghai"}
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["timezone"] == "Asia/Shanghai"
    # 09:30 in Shanghai is 01:30 UTC; 2026-12-02 is a Wednesday
    assert shown["next_runs"] == [f"2026-12-{day:02d}T01:30:00.000000Z" for day in (3, 4, 7, 8, 9)]


@pytest.mark.parametrize(
    ("body", "field", "hint"),
    [
        ({"cron": "0 2 * * *"}, "cron", '"0 0 2 * * *"'),
        ({"cron": "30 0 2 * * *"}, "cron", "start the expression with 0"),
        ({"cron": "0 * 2 * * *"}, "cron", "every 15 minutes"),
        ({"cron": "@daily"}, "cron", "six fields"),
        ({"cron": "0 0 2 * * *", "timezone": "Mars/Olympus"}, "timezone", "Asia/Shanghai"),
        ({"cron": "0 0 2 * * *", "count": 0}, "count", ""),
        ({"cron": "0 0 2 * * *", "count": 51}, "count", ""),
        ({"timezone": "UTC"}, "cron", ""),
    ],
)
async def test_preview_of_an_invalid_schedule_is_400_naming_the_field(
    at_now: httpx.AsyncClient, body: dict[str, object], field: str, hint: str
) -> None:
    message = error_message(await at_now.post(f"{API}/cron/preview", json=body), 400, "BAD_REQUEST")
    assert message.startswith(f"{field}:")
    assert hint in message


async def test_preview_needs_a_sign_in(ferry: Ferry) -> None:
    async with ferry.client() as anonymous:
        response = await anonymous.post(f"{API}/cron/preview", json={"cron": "0 0 2 * * *"})
    error_message(response, 401, "UNAUTHORIZED")
