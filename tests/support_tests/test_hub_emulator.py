"""The Docker Hub emulator: token flow, the pull rate limit, and the Hub API's listings."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import MANIFEST_ACCEPT, RegistryClient, get_manifest, list_tags
from tests.support.hub_emulator import HubEmulator
from tests.support.images import BlobSpec, ImageSpec, build_image, build_index, push_image, push_index

INDEX_ACCEPT = {"Accept": MANIFEST_ACCEPT}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubEmulator]:
    with HubEmulator(tmp_path / "hub", pull_limit=5, window_seconds=3600) as emulator:
        yield emulator


def _seed(hub: HubEmulator, repository: str = "library/alpine", tag: str = "3.19") -> ImageSpec:
    image = build_image([BlobSpec(5000, zlib.crc32(f"{repository}:{tag}".encode()) % 1000)])
    push_image(hub.registry, repository, tag, image)
    return image


def _remaining(resp: httpx.Response) -> str:
    return resp.headers["ratelimit-remaining"]


def test_anonymous_pull_goes_through_the_token_flow(hub: HubEmulator) -> None:
    image = _seed(hub)
    challenge = httpx.get(f"{hub.url}/v2/")
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == (
        f'Bearer realm="{hub.url}/token",service="registry.docker.io"'
    )
    token = httpx.get(
        f"{hub.url}/token",
        params={"service": "registry.docker.io", "scope": "repository:library/alpine:pull"},
    ).json()
    assert token["token"] == token["access_token"]
    assert token["expires_in"] == 300
    with RegistryClient(hub, anonymous=True) as client:
        assert get_manifest(client, "library/alpine", "3.19")[0] == image.manifest_bytes
        assert list_tags(client, "library/alpine") == ["3.19"]
        # A repository that does not exist: no pull grant, so 401 (Hub's "pull access denied").
        missing = client.request("GET", "/v2/library/nothing/manifests/latest")
        assert missing.status_code == 401
        assert 'error="insufficient_scope"' in missing.headers["WWW-Authenticate"]
    no_token = httpx.get(f"{hub.url}/v2/library/alpine/manifests/3.19")
    assert no_token.status_code == 401
    assert 'scope="repository:library/alpine:pull"' in no_token.headers["WWW-Authenticate"]


def test_head_spends_no_pull_and_get_spends_one(hub: HubEmulator) -> None:
    _seed(hub)
    with RegistryClient(hub, anonymous=True) as client:
        path = "/v2/library/alpine/manifests/3.19"
        head = client.request("HEAD", path, headers=INDEX_ACCEPT)
        assert head.status_code == 200
        assert head.headers["ratelimit-limit"] == "5;w=3600"
        assert _remaining(head) == "5;w=3600"
        assert head.headers["docker-ratelimit-source"] == "127.0.0.1"
        assert hub.pulls_left == 5
        seen = [_remaining(client.request("GET", path, headers=INDEX_ACCEPT)) for _ in range(3)]
        assert seen == ["4;w=3600", "3;w=3600", "2;w=3600"]
        assert _remaining(client.request("HEAD", path, headers=INDEX_ACCEPT)) == "2;w=3600"
        # Blobs and tag lists are not pulls.
        client.request("GET", "/v2/library/alpine/tags/list").raise_for_status()
    assert hub.pulls_left == 2


def test_no_pulls_left_is_429_toomanyrequests_while_head_still_answers(hub: HubEmulator) -> None:
    _seed(hub)
    hub.set_pulls_left(1)
    with RegistryClient(hub, anonymous=True) as client:
        path = "/v2/library/alpine/manifests/3.19"
        assert client.request("GET", path, headers=INDEX_ACCEPT).status_code == 200
        refused = client.request("GET", path, headers=INDEX_ACCEPT)
        assert refused.status_code == 429
        assert refused.json() == {
            "errors": [
                {
                    "code": "TOOMANYREQUESTS",
                    "message": "You have reached your unauthenticated pull rate limit. "
                    "https://www.docker.com/increase-rate-limit",
                }
            ]
        }
        assert _remaining(refused) == "0;w=3600"
        head = client.request("HEAD", path, headers=INDEX_ACCEPT)
        assert (head.status_code, _remaining(head)) == (200, "0;w=3600")
    assert hub.throttled == [("GET", path, 429)]
    hub.set_pulls_left(3)
    assert hub.pulls_left == 3


def test_push_only_into_the_users_own_namespace(hub: HubEmulator) -> None:
    image = build_image([BlobSpec(300, 21)])
    assert push_image(hub, f"{hub.username}/app", "v1", image) == image.digest
    assert list_tags(hub.registry, f"{hub.username}/app") == ["v1"]
    with RegistryClient(hub) as client:
        refused = client.request("POST", "/v2/library/app/blobs/uploads/")
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert refused.json()["errors"][0]["message"] == "authentication required"
        assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    with RegistryClient(hub, anonymous=True) as anonymous:
        assert anonymous.request("POST", f"/v2/{hub.username}/app/blobs/uploads/").status_code == 401
    wrong = httpx.get(
        f"{hub.url}/token",
        params={"service": "registry.docker.io", "scope": f"repository:{hub.username}/app:pull,push"},
        auth=(hub.username, "wrong"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["code"] == "UNAUTHORIZED"


def _follow(url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Every result across pages, and the ``next`` URLs followed."""
    results: list[dict[str, Any]] = []
    followed: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        page = httpx.get(next_url, **kwargs)
        assert page.status_code == 200, page.text
        body = page.json()
        results.extend(body["results"])
        next_url = body["next"]
        if next_url is not None:
            followed.append(next_url)
    return results, followed


def test_hub_api_lists_repositories_with_next_pages_and_spends_no_pulls(hub: HubEmulator) -> None:
    for name in ("alpine", "busybox", "nginx"):
        _seed(hub, f"library/{name}", "latest")
    _seed(hub, "library/deep/er", "latest")  # not a Hub repository name
    _seed(hub, "other/thing", "latest")
    results, followed = _follow(f"{hub.url}/v2/repositories/library/?page_size=2")
    assert [(r["namespace"], r["name"], r["repository_type"]) for r in results] == [
        ("library", "alpine", "image"),
        ("library", "busybox", "image"),
        ("library", "nginx", "image"),
    ]
    assert followed == [f"{hub.url}/v2/repositories/library/?page=2&page_size=2"]
    first = httpx.get(f"{hub.url}/v2/repositories/library/", params={"page_size": 2}).json()
    assert (first["count"], first["previous"]) == (3, None)
    last = httpx.get(followed[0]).json()
    assert last["previous"] == f"{hub.url}/v2/repositories/library/?page=1&page_size=2"
    missing = httpx.get(f"{hub.url}/v2/repositories/nobody/")
    assert (missing.status_code, missing.json()) == (404, {"message": "object not found", "errinfo": {}})
    assert httpx.get(f"{hub.url}/v2/repositories/library/nginx/").json()["name"] == "nginx"
    assert hub.pulls_left == 5


def test_hub_api_lists_tags_with_digests_on_both_paths(hub: HubEmulator) -> None:
    single = _seed(hub, "library/app", "1.0")
    arm = build_image([BlobSpec(10, 31)], architecture="arm64", variant="v8")
    amd = build_image([BlobSpec(20, 32)])
    index = build_index([arm, amd], oci=True)
    push_index(hub.registry, "library/app", "2.0", index)
    push_image(hub.registry, "library/app", "1.1", single)
    for path in ("/v2/namespaces/library/repositories/app/tags", "/v2/repositories/library/app/tags"):
        results, followed = _follow(f"{hub.url}{path}?page_size=2&ordering=name")
        assert len(followed) == 1
        tags = {r["name"]: r for r in results}
        assert {name: t["digest"] for name, t in tags.items()} == {
            "1.0": single.digest,
            "1.1": single.digest,
            "2.0": index.digest,
        }
        assert [(i["architecture"], i["os"], i["digest"]) for i in tags["1.0"]["images"]] == [
            ("amd64", "linux", single.digest)
        ]
        assert [(i["architecture"], i["variant"], i["digest"]) for i in tags["2.0"]["images"]] == [
            ("arm64", "v8", arm.digest),
            ("amd64", None, amd.digest),
        ]
    one = httpx.get(f"{hub.url}/v2/repositories/library/app/tags/2.0").json()
    assert one["digest"] == index.digest
    assert httpx.get(f"{hub.url}/v2/repositories/library/ghost/tags").status_code == 404
    assert hub.pulls_left == 5


def test_login_gives_a_token_the_hub_api_accepts(hub: HubEmulator) -> None:
    _seed(hub, f"{hub.username}/private-ish", "v1")
    login = httpx.post(f"{hub.url}/v2/users/login", json={"username": hub.username, "password": hub.password})
    assert login.status_code == 200
    token = login.json()["token"]
    listing = httpx.get(
        f"{hub.url}/v2/repositories/{hub.username}/", headers={"Authorization": f"Bearer {token}"}
    )
    assert [r["name"] for r in listing.json()["results"]] == ["private-ish"]
    basic = httpx.get(f"{hub.url}/v2/repositories/{hub.username}/", auth=(hub.username, hub.password))
    assert basic.json()["count"] == 1
    wrong = httpx.post(f"{hub.url}/v2/users/login", json={"username": hub.username, "password": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "Incorrect authentication credentials"})
    forged = httpx.get(
        f"{hub.url}/v2/repositories/{hub.username}/", headers={"Authorization": "Bearer x.y.z"}
    )
    assert forged.status_code == 401
    assert ("POST", "/v2/users/login", 401) in hub.requests
