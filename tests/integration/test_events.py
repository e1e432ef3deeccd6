"""Event-based replication against a real ``ferry serve``: its managed docker-registry sends real
notifications to ferry's receiver, and pushes and deletions reach real destination registries with
no manual step. Harbor's webhooks are POSTed as Harbor sends them (both formats). Every copy is
checked with skopeo at the destination."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.blobs import BlobSpec
from tests.support.client import delete_manifest, list_tags
from tests.support.faults import FlakyProxy, upload_start
from tests.support.ferry_server import FerryServer
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

REGISTRY_RECEIVER = "/service/notifications/registry"
HARBOR_RECEIVER = "/service/notifications/harbor"
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
)
DEADLINE = 30.0

Json = dict[str, Any]


@pytest.fixture(scope="module")
def api(ferry_server: FerryServer) -> Iterator[httpx.Client]:
    with ferry_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def token(ferry_server: FerryServer) -> str:
    return (ferry_server.data_dir / "notify.token").read_text().strip()


def created(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def add_registry(api: httpx.Client, name: str, url: str) -> int:
    return created(api.post("/registries", json={"name": name, "type": "docker-registry", "url": url}))


def add_event_policy(
    api: httpx.Client,
    name: str,
    *,
    dest: int,
    names: str,
    src: int | None = None,
    namespace: str = "mirror",
    deletion: bool = False,
) -> int:
    body = {
        "name": name,
        "src_registry": None if src is None else {"id": src},
        "dest_registry": {"id": dest},
        "dest_namespace": namespace,
        "dest_namespace_replace_count": 1,
        "filters": [{"type": "name", "value": names}],
        # a remote source would also be watched (every 300 s); here only the events may copy
        "trigger": {"type": "event_based", "trigger_settings": {"cron": "", "poll_interval": 0}},
        "deletion": deletion,
        "override": True,
        "enabled": True,
    }
    return created(api.post("/replication/policies", json=body))


def executions(api: httpx.Client, policy_id: int) -> list[Json]:
    response = api.get("/replication/executions", params={"policy_id": policy_id, "page_size": 100})
    assert response.status_code == 200, response.text
    result: list[Json] = response.json()
    return result


def tasks(api: httpx.Client, execution_id: int) -> list[Json]:
    response = api.get(f"/replication/executions/{execution_id}/tasks")
    assert response.status_code == 200, response.text
    result: list[Json] = response.json()
    return result


def finished(api: httpx.Client, policy_id: int, count: int) -> list[Json]:
    """The policy's executions once at least ``count`` exist and all have ended."""

    def probe() -> list[Json] | None:
        found = executions(api, policy_id)
        done = len(found) >= count and all(item["status"] != "InProgress" for item in found)
        return found if done else None

    return wait_until(probe, timeout=DEADLINE, what=f"{count} finished execution(s) of policy {policy_id}")


def arrives(target: Any, repository: str, tag: str, digest: str) -> None:
    """Poll until ``repository:tag`` has ``digest`` at ``target``, then check the bytes with skopeo."""

    def probe() -> bool | None:
        return True if tag in list_tags(target, repository) else None

    wait_until(probe, timeout=DEADLINE, what=f"{repository}:{tag} at {target.url}")
    assert inspect_raw_digest(target, repository, tag) == digest


def image(seed: int) -> Any:
    return build_image([BlobSpec(3_000, seed=seed), BlobSpec(1_000, seed=seed + 1)])


def manifest_exists(target: Any, repository: str, digest: str) -> bool:
    with httpx.Client(base_url=target.url) as client:
        response = client.head(f"/v2/{repository}/manifests/{digest}", headers={"Accept": MANIFEST_TYPES})
    assert response.status_code in (200, 404), response
    return response.status_code == 200


def post(ferry_server: FerryServer, path: str, body: Json, **headers: str) -> httpx.Response:
    return httpx.post(ferry_server.url + path, content=json.dumps(body).encode(), headers=headers, timeout=10)


def test_a_push_to_the_local_registry_is_replicated_without_a_manual_step(
    ferry_server: FerryServer, api: httpx.Client, registry: RegistryServer
) -> None:
    dest = add_registry(api, "push-dest", registry.url)
    policy = add_event_policy(api, "on-push", dest=dest, names="pushed/**")

    digest = push_image(ferry_server.local_registry, "pushed/web", "v1", image(1))

    arrives(registry, "mirror/web", "v1", digest)
    [execution] = finished(api, policy, 1)
    assert (execution["trigger"], execution["status"]) == ("event_based", "Succeed")
    [task] = tasks(api, execution["id"])
    assert (task["operation"], task["src_resource"]) == ("copy", "pushed/web [1 item(s) in total]")


def test_two_tags_pushed_in_quick_succession_both_arrive(
    ferry_server: FerryServer, api: httpx.Client, registry: RegistryServer
) -> None:
    dest = add_registry(api, "tags-dest", registry.url)
    policy = add_event_policy(api, "on-tags", dest=dest, names="tagged/**")
    pushed = image(10)

    digest = push_image(ferry_server.local_registry, "tagged/app", "1.0", pushed)
    push_image(ferry_server.local_registry, "tagged/app", "latest", pushed)

    arrives(registry, "mirror/app", "1.0", digest)
    arrives(registry, "mirror/app", "latest", digest)
    assert all(item["status"] == "Succeed" for item in finished(api, policy, 1))


def test_a_deletion_is_replicated_only_by_the_policy_with_deletion_on(
    ferry_server: FerryServer, api: httpx.Client, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    deleting = add_event_policy(
        api, "deletes", dest=add_registry(api, "del-on", registry.url), names="gone/**", deletion=True
    )
    keeping = add_event_policy(
        api, "keeps", dest=add_registry(api, "del-off", registry_b.url), names="gone/**"
    )
    digest = push_image(ferry_server.local_registry, "gone/app", "v1", image(20))
    push_image(ferry_server.local_registry, "gone/app", "latest", image(20))
    for target in (registry, registry_b):
        arrives(target, "mirror/app", "v1", digest)
        arrives(target, "mirror/app", "latest", digest)
    copies = len(finished(api, deleting, 1))

    delete_manifest(ferry_server.local_registry, "gone/app", digest)

    newest = finished(api, deleting, copies + 1)[0]
    assert not manifest_exists(registry, "mirror/app", digest)
    assert list_tags(registry, "mirror/app") == []
    [deletion] = tasks(api, newest["id"])
    assert (newest["trigger"], newest["status"], deletion["operation"]) == (
        "event_based",
        "Succeed",
        "deletion",
    )
    # Both rules heard the deletion at once (one pass over the events): the other one never deletes.
    assert all(
        task["operation"] == "copy" for item in executions(api, keeping) for task in tasks(api, item["id"])
    )
    assert manifest_exists(registry_b, "mirror/app", digest)
    assert sorted(list_tags(registry_b, "mirror/app")) == ["latest", "v1"]


def test_a_repository_outside_the_name_filter_is_never_touched(
    ferry_server: FerryServer, api: httpx.Client, registry: RegistryServer
) -> None:
    policy = add_event_policy(
        api, "only-kept", dest=add_registry(api, "filter-dest", registry.url), names="kept/**"
    )

    push_image(ferry_server.local_registry, "unkept/app", "v1", image(30))
    digest = push_image(ferry_server.local_registry, "kept/app", "v1", image(31))

    arrives(registry, "mirror/app", "v1", digest)  # the later push is handled, so the earlier one was
    [execution] = finished(api, policy, 1)
    assert [task["src_resource"] for task in tasks(api, execution["id"])] == ["kept/app [1 item(s) in total]"]
    with httpx.Client(base_url=registry.url) as client:
        assert client.get("/v2/_catalog").json()["repositories"] == ["mirror/app"]


def envelope(event_id: str, repository: str, tag: str, digest: str) -> Json:
    """A push notification exactly as distribution 2.8 sends it."""
    return {
        "events": [
            {
                "id": event_id,
                "timestamp": "2026-12-02T15:48:11.820951177Z",
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "size": 528,
                    "digest": digest,
                    "length": 528,
                    "repository": repository,
                    "url": f"http://127.0.0.1:5000/v2/{repository}/manifests/{digest}",
                    "tag": tag,
                },
                "request": {"id": "r-1", "addr": "127.0.0.1:5", "host": "127.0.0.1:5000", "method": "PUT"},
                "actor": {},
                "source": {"addr": "host:5000", "instanceID": "i-1"},
            }
        ]
    }


def test_a_redelivered_notification_starts_one_execution(
    ferry_server: FerryServer, api: httpx.Client, token: str, registry: RegistryServer
) -> None:
    policy = add_event_policy(
        api, "redelivery", dest=add_registry(api, "redelivery-dest", registry.url), names="again/**"
    )
    digest = "sha256:" + hashlib.sha256(b"again").hexdigest()
    body = envelope("b3c1e0a6-7f70-4b61-9a55-redelivered", "again/app", "v1", digest)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": ENVELOPE}

    first = post(ferry_server, REGISTRY_RECEIVER, body, **headers)
    second = post(ferry_server, REGISTRY_RECEIVER, body, **headers)

    assert (first.status_code, first.json()) == (200, {"accepted": 1, "duplicates": 0, "ignored": 0})
    assert (second.status_code, second.json()) == (200, {"accepted": 0, "duplicates": 1, "ignored": 0})
    [execution] = finished(api, policy, 1)
    # The tag was never pushed: the execution finds nothing to copy and says why.
    assert execution["status"] == "Succeed"
    assert "again/app (v1) is gone from the source" in execution["status_text"]


@pytest.mark.parametrize("path", [REGISTRY_RECEIVER, HARBOR_RECEIVER])
@pytest.mark.parametrize("authorization", [None, "Bearer not-the-token", "Basic YWRtaW46eA=="])
def test_a_missing_or_wrong_token_is_refused(
    ferry_server: FerryServer, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = post(ferry_server, path, {"events": []}, **headers)

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "notify.token" in response.json()["errors"][0]["message"]


def test_the_registry_receiver_wants_the_bearer_scheme(ferry_server: FerryServer, token: str) -> None:
    assert post(ferry_server, REGISTRY_RECEIVER, {"events": []}, Authorization=token).status_code == 401
    assert (
        post(ferry_server, REGISTRY_RECEIVER, {"events": []}, Authorization=f"Bearer {token}").status_code
        == 200
    )


def harbor_push(host: str, repository: str, tag: str, digest: str, *, cloudevents: bool) -> Json:
    """A PUSH_ARTIFACT webhook as Harbor sends it, Default or CloudEvents."""
    data = {
        "resources": [{"digest": digest, "tag": tag, "resource_url": f"{host}/{repository}:{tag}"}],
        "repository": {
            "date_created": 1677053165,
            "name": repository.rsplit("/", 1)[1],
            "namespace": repository.split("/", 1)[0],
            "repo_full_name": repository,
            "repo_type": "private",
        },
    }
    if not cloudevents:
        return {"type": "PUSH_ARTIFACT", "occur_at": 1764690000, "operator": "admin", "event_data": data}
    return {
        "specversion": "1.0",
        "id": "4b2f89a6-548d-4c12-9993-a1f5790b97d2",
        "requestid": "2eedfab8-61d3-4f3c-8ec3-8f82d1ec4c84",
        "source": "/projects/1/webhook/policies/3",
        "type": "harbor.artifact.pushed",
        "datacontenttype": "application/json",
        "time": "2025-12-02T15:40:01Z",
        "data": data,
        "operator": "admin",
    }


def test_harbor_webhooks_in_both_formats_start_the_policy_whose_source_is_that_harbor(
    ferry_server: FerryServer,
    api: httpx.Client,
    token: str,
    registry: RegistryServer,
    registry_b: RegistryServer,
) -> None:
    harbor = add_registry(api, "harbor-beside", registry.url)
    policy = add_event_policy(
        api,
        "from-harbor",
        src=harbor,
        dest=add_registry(api, "harbor-dest", registry_b.url),
        names="project/**",
    )
    first = push_image(registry, "project/app", "v1", image(40))
    second = push_image(registry, "project/app", "v2", image(41))

    default = post(
        ferry_server,
        HARBOR_RECEIVER,
        harbor_push(registry.host, "project/app", "v1", first, cloudevents=False),
        Authorization=token,  # Harbor sends its webhook policy's auth header as it is
    )
    cloud = post(
        ferry_server,
        HARBOR_RECEIVER,
        harbor_push(registry.host, "project/app", "v2", second, cloudevents=True),
        Authorization=f"Bearer {token}",
        **{"Content-Type": "application/cloudevents+json"},
    )

    assert default.json()["accepted"] == cloud.json()["accepted"] == 1
    arrives(registry_b, "mirror/app", "v1", first)
    arrives(registry_b, "mirror/app", "v2", second)
    assert all(item["trigger"] == "event_based" for item in finished(api, policy, 1))


def test_an_event_that_arrives_while_the_destination_is_down_is_copied_once_it_is_back(
    ferry_server: FerryServer, api: httpx.Client, registry: RegistryServer
) -> None:
    with FlakyProxy(registry, fail_statuses=[503] * 1000, retry_after="0", match=upload_start) as down:
        policy = add_event_policy(
            api, "outage", dest=add_registry(api, "outage-dest", down.url), names="outage/**"
        )
        digest = push_image(ferry_server.local_registry, "outage/app", "v1", image(50))

        def second_attempt() -> bool | None:
            # the outage must outlast the first attempt's own request retries (which several
            # concurrent uploads share unevenly), so wait for the task's second attempt
            started = api.get("/replication/executions", params={"policy_id": policy}).json()
            shown = tasks(api, started[-1]["id"]) if started else []
            return True if shown and shown[0]["attempts"] >= 2 else None

        wait_until(second_attempt, timeout=60, what="a second attempt after the failed first one")
        down.fail_statuses = down.fail_statuses[: down.failed]  # the destination is back

        arrives(registry, "mirror/app", "v1", digest)

    [execution] = finished(api, policy, 1)
    [task] = tasks(api, execution["id"])
    assert execution["status"] == "Succeed"
    assert task["attempts"] >= 2
