"""``/metrics`` of the real ``ferry serve``: a rule copies an image from the managed local registry to a
real registry, and a scrape over HTTP, parsed by the Prometheus client's parser, shows it;
``--metrics-auth`` asks for the API's sign-in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.blobs import BlobSpec
from tests.support.ferry_server import FerryServer, start_ferry_server
from tests.support.images import build_image, push_image
from tests.support.metrics import Samples
from tests.support.registry import RegistryServer


def scrape(url: str, **options: Any) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10, **options)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Samples.parse(response.text)


def finished(client: httpx.Client, execution_id: int, *, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution: dict[str, Any] = client.get(f"/replication/executions/{execution_id}").json()
        if execution["status"] != "InProgress":
            return execution
        assert time.monotonic() < deadline, f"execution {execution_id} still running: {execution}"
        time.sleep(0.1)


def created(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_a_replication_shows_in_the_scraped_metrics(
    ferry_server: FerryServer, registry_b: RegistryServer
) -> None:
    image = build_image([BlobSpec(40_000, seed=71), BlobSpec(9_000, seed=72)])
    push_image(ferry_server.local_registry, "library/metered", "v1", image)
    before = scrape(ferry_server.url)
    with ferry_server.client() as client:
        destination = created(
            client.post(
                "/registries", json={"name": "metrics-b", "type": "docker-registry", "url": registry_b.url}
            )
        )
        policy = created(
            client.post(
                "/replication/policies",
                json={
                    "name": "metered",
                    "src_registry": None,
                    "dest_registry": {"id": destination},
                    "filters": [{"type": "name", "value": "library/metered"}],
                    "trigger": {"type": "manual"},
                    "enabled": True,
                },
            )
        )
        execution = finished(
            client, created(client.post("/replication/executions", json={"policy_id": policy}))
        )
    assert execution["status"] == "Succeed", execution

    after = scrape(ferry_server.url)

    def grew(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    (version,) = after.label_values("ferry_build_info", "version")
    assert after("ferry_build_info", version=version) == 1
    assert grew("ferry_executions", status="Succeed") == 1
    assert grew("ferry_tasks", status="Succeed") == 1
    assert grew("ferry_execution_duration_seconds_count", status="Succeed", trigger="manual") == 1
    assert grew("ferry_task_duration_seconds_count", status="Succeed") == 1
    assert grew("ferry_blobs_total", outcome="uploaded") == len(image.blobs)
    uploaded = sum(blob.size for blob in image.blobs)
    assert grew("ferry_blob_bytes_total", outcome="uploaded") == uploaded
    assert grew("ferry_bytes_transferred_total") >= uploaded
    assert grew("ferry_images_total", outcome="copied") == 1
    assert grew("ferry_registry_requests_total", registry=registry_b.host, outcome="success") > 0
    assert after("ferry_tasks_running") == 0
    assert after("process_resident_memory_bytes") > 0


def test_metrics_auth_asks_for_the_api_sign_in(tmp_path: Path) -> None:
    with start_ferry_server(tmp_path, extra_args=("--metrics-auth", "--local-registry", "none")) as server:
        anonymous = httpx.get(f"{server.url}/metrics", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Basic realm="ferry"'
        samples = scrape(server.url, auth=server.auth)
        assert samples.has("ferry_executions", status="Failed")
