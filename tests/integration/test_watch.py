"""The polling watcher in a real ``ferry serve``: an event-based pull rule from a registry that sends
no events brings the local registry in line with no manual step (its first round runs the rule).
Later rounds are covered with the time given to them in ``tests/unit/jobs/test_watcher.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.blobs import BlobSpec
from tests.support.client import list_tags
from tests.support.ferry_server import FerryServer
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

DEADLINE = 30.0


@pytest.fixture(scope="module")
def api(ferry_server: FerryServer) -> Iterator[httpx.Client]:
    with ferry_server.client() as client:
        yield client


def created(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_watched_pull_rule_copies_the_source_without_a_manual_start(
    ferry_server: FerryServer, api: httpx.Client, registry: RegistryServer
) -> None:
    digest = push_image(registry, "team/app", "v1", build_image([BlobSpec(2_000, seed=70)]))
    source = created(
        api.post("/registries", json={"name": "upstream", "type": "docker-registry", "url": registry.url})
    )
    body: dict[str, Any] = {
        "name": "watch-upstream",
        "src_registry": {"id": source},
        "dest_registry": None,
        "dest_namespace": "pulled",
        "dest_namespace_replace_count": 1,
        "filters": [{"type": "name", "value": "team/**"}],
        "trigger": {"type": "event_based", "trigger_settings": {"cron": "", "poll_interval": 30}},
        "override": True,
        "enabled": True,
    }
    policy = created(api.post("/replication/policies", json=body))
    local = ferry_server.local_registry

    wait_until(
        lambda: True if "v1" in list_tags(local, "pulled/app") else None,
        timeout=DEADLINE,
        what="pulled/app:v1 in the local registry",
    )

    assert inspect_raw_digest(local, "pulled/app", "v1") == digest
    executions = api.get("/replication/executions", params={"policy_id": policy}).json()
    assert [item["trigger"] for item in executions] == ["event_based"]
