"""A scheduled rule through a real ``ferry serve``: a fire missed while ferry was down runs once at
start-up, and the rule shows its next run.

Harbor's cron cannot fire more often than once a minute, so waiting for a live fire would be slow;
the missed fire is made by storing the rule, before the server starts, as saved three days ago.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ferry.jobs.service import open_store
from ferry.replication.domain.policy import Policy, Trigger
from ferry.replication.domain.registry import Registry, RegistryType
from ferry.replication.domain.status import TriggerType
from tests.support.ferry_server import start_ferry_server
from tests.support.net import wait_until
from tests.support.registry import RegistryServer

MIDNIGHT = Trigger(TriggerType.SCHEDULED, "0 0 0 * * *")


async def store_rule_saved_days_ago(data_dir: Path, destination_url: str, *, days: int) -> int:
    saved = datetime.now(UTC) - timedelta(days=days)
    store = await open_store(data_dir, database_url=None, key_text=None)
    try:
        destination = await store.registries.add(
            Registry(
                id=0,
                name="dest",
                type=RegistryType.DOCKER_REGISTRY,
                url=destination_url,
                creation_time=saved,
                update_time=saved,
            )
        )
        policy = await store.policies.add(
            Policy(
                id=0,
                name="nightly",
                src_registry_id=0,
                dest_registry_id=destination.id,
                trigger=MIDNIGHT,
                creation_time=saved,
                update_time=saved,
            )
        )
        return policy.id
    finally:
        await store.close()


def test_a_fire_missed_while_ferry_was_down_runs_once_at_start_up(
    tmp_path: Path, registry_b: RegistryServer
) -> None:
    policy_id = asyncio.run(store_rule_saved_days_ago(tmp_path / "data", registry_b.url, days=3))
    with start_ferry_server(tmp_path) as server, server.client() as api:

        def ended_executions() -> list[dict[str, object]] | None:
            shown: list[dict[str, object]] = api.get(
                "/replication/executions", params={"policy_id": policy_id}
            ).json()
            return shown if shown and all(item["status"] != "InProgress" for item in shown) else None

        executions = wait_until(ended_executions, timeout=30, what="the missed fire's execution to end")
        assert [(item["trigger"], item["status"]) for item in executions] == [("scheduled", "Succeed")]
        assert "missed while ferry was not running" in server.log_text()
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        shown = api.get(f"/replication/policies/{policy_id}").json()
        assert shown["next_scheduled_time"] in {
            (midnight + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for days in (1, 2)
        }
