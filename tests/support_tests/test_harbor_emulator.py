"""The Harbor emulator answers the way Harbor does where a replication tool looks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import RegistryClient, get_blob, get_manifest, list_tags, manifest_digest
from tests.support.harbor_emulator import HarborEmulator
from tests.support.images import BlobSpec, build_image, build_index, push_image, push_index


@pytest.fixture
def harbor(tmp_path: Path) -> Iterator[HarborEmulator]:
    with HarborEmulator(tmp_path / "harbor") as emulator:
        yield emulator


def _api(harbor: HarborEmulator, *, anonymous: bool = False) -> httpx.Client:
    auth = None if anonymous else (harbor.username, harbor.password)
    return httpx.Client(base_url=f"{harbor.url}/api/v2.0", auth=auth)


def _token(harbor: HarborEmulator, scope: str, *, anonymous: bool = False) -> str:
    auth = None if anonymous else (harbor.username, harbor.password)
    resp = httpx.get(
        f"{harbor.url}/service/token", params={"service": "harbor-registry", "scope": scope}, auth=auth
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["token"]
    return token


def test_v2_challenges_then_a_token_from_the_admin_pushes_into_an_existing_project(
    harbor: HarborEmulator,
) -> None:
    harbor.add_project("library")
    first = httpx.get(f"{harbor.url}/v2/")
    assert first.status_code == 401
    assert first.headers["WWW-Authenticate"] == (
        f'Bearer realm="{harbor.url}/service/token",service="harbor-registry"'
    )
    assert first.json() == {"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}
    assert first.headers["X-Request-Id"]

    token = httpx.get(
        f"{harbor.url}/service/token",
        params={"service": "harbor-registry", "scope": "repository:library/app:pull,push"},
        auth=(harbor.username, harbor.password),
    ).json()
    assert token["token"] == token["access_token"]
    assert token["expires_in"] == 1800
    assert token["issued_at"].endswith("Z")
    authorised = httpx.get(f"{harbor.url}/v2/", headers={"Authorization": f"Bearer {token['token']}"})
    assert authorised.status_code == 200

    image = build_image([BlobSpec(200_000, 1)])
    with RegistryClient(harbor) as client:
        assert push_image(client, "library/app", "v1", image) == image.digest
        assert client.auth.token_fetches >= 1
    assert manifest_digest(harbor.registry, "library/app", "v1") == image.digest
    assert ("PUT", "/v2/library/app/manifests/v1", 201) in harbor.requests
    assert all(call[1] == "/service/token" for call in harbor.token_requests)


def test_push_into_a_missing_project_is_404_naming_the_project(harbor: HarborEmulator) -> None:
    token = _token(harbor, "repository:ghost/app:pull,push")
    headers = {"Authorization": f"Bearer {token}"}
    upload = httpx.post(f"{harbor.url}/v2/ghost/app/blobs/uploads/", headers=headers)
    manifest = httpx.put(
        f"{harbor.url}/v2/ghost/app/manifests/v1",
        headers={**headers, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        content=b"{}",
    )
    for resp in (upload, manifest):
        assert resp.status_code == 404
        assert resp.json() == {"errors": [{"code": "NOT_FOUND", "message": "project ghost not found"}]}
    # The token service grants nothing in a project that does not exist.
    assert _claims(token)["access"] == [{"type": "repository", "name": "ghost/app", "actions": []}]


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


def test_chunked_upload_locations_point_back_at_the_emulator(harbor: HarborEmulator) -> None:
    harbor.add_project("lib")
    data = bytes(range(256)) * 1200
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with RegistryClient(harbor) as client:
        start = client.request("POST", "/v2/lib/app/blobs/uploads/")
        assert start.status_code == 202
        location = start.headers["Location"]
        for offset in range(0, len(data), 100_000):
            assert location.startswith(f"{harbor.url}/v2/lib/app/blobs/uploads/")
            piece = data[offset : offset + 100_000]
            patch = client.http.patch(
                location,
                content=piece,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}",
                },
            )
            assert patch.status_code == 202
            location = patch.headers["Location"]
        done = client.http.put(httpx.URL(location).copy_merge_params({"digest": digest}))
        assert done.status_code == 201
    assert get_blob(harbor.registry, "lib/app", digest) == data


def test_project_created_through_the_api_accepts_pushes_and_a_duplicate_is_409(
    harbor: HarborEmulator,
) -> None:
    image = build_image([BlobSpec(1000, 2)])
    with _api(harbor) as api:
        assert api.head("/projects", params={"project_name": "team"}).status_code == 404
        created = api.post("/projects", json={"project_name": "team", "metadata": {"public": "false"}})
        assert created.status_code == 201
        project_id = harbor.projects["team"]
        assert created.headers["Location"] == f"/api/v2.0/projects/{project_id}"
        assert api.head("/projects", params={"project_name": "team"}).status_code == 200

        duplicate = api.post("/projects", json={"project_name": "team", "public": False})
        assert duplicate.status_code == 409
        assert duplicate.json() == {
            "errors": [{"code": "CONFLICT", "message": "The project named team already exists"}]
        }
        for bad in ("Team", "team-", "a b", "x" * 256):
            assert api.post("/projects", json={"project_name": bad}).status_code == 400, bad

        public = api.post("/projects", json={"project_name": "pub", "public": True})
        assert public.status_code == 201
        assert api.get("/projects/pub").json()["metadata"] == {"public": "true"}
        assert api.get(f"/projects/{project_id}").json()["name"] == "team"
    assert push_image(harbor, "team/svc/api", "1.0", image) == image.digest
    assert list_tags(harbor.registry, "team/svc/api") == ["1.0"]


def test_api_without_credentials_is_401_except_public_reads(harbor: HarborEmulator) -> None:
    harbor.add_project("private")
    harbor.add_project("open", public=True)
    unauthorized = {"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}
    with _api(harbor, anonymous=True) as anonymous:
        assert anonymous.get("/ping").text == "Pong"
        assert anonymous.get("/systeminfo").json()["harbor_version"] == "v2.11.0-emulator"
        assert anonymous.post("/projects", json={"project_name": "x"}).json() == unauthorized
        assert anonymous.get("/projects/private").status_code == 401
        assert anonymous.get("/users/current").status_code == 401
        assert anonymous.get("/projects/open").status_code == 200
        assert [p["name"] for p in anonymous.get("/projects").json()] == ["open"]
        assert anonymous.get("/projects/missing").json() == {
            "errors": [{"code": "NOT_FOUND", "message": "project missing not found"}]
        }
    # Harbor treats wrong credentials as no credentials.
    with httpx.Client(base_url=f"{harbor.url}/api/v2.0", auth=(harbor.username, "wrong")) as wrong:
        assert wrong.get("/projects/private").status_code == 401
        assert wrong.get("/users/current").status_code == 401
    with _api(harbor) as api:
        assert api.get("/users/current").json()["username"] == harbor.username
        assert [p["name"] for p in api.get("/projects").json()] == ["open", "private"]
    assert ("GET", "/api/v2.0/projects/private", 401) in harbor.api_calls


def test_anonymous_pulls_public_projects_only_and_head_without_auth_is_challenged(
    harbor: HarborEmulator,
) -> None:
    harbor.add_project("open", public=True)
    harbor.add_project("closed")
    image = build_image([BlobSpec(100, 3)])
    push_image(harbor.registry, "open/app", "v1", image)
    push_image(harbor.registry, "closed/app", "v1", image)
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    assert httpx.get(f"{harbor.url}/v2/open/app/manifests/v1", headers=accept).status_code == 200
    head = httpx.head(f"{harbor.url}/v2/open/app/manifests/v1", headers=accept)
    assert head.status_code == 401
    assert 'scope="repository:open/app:pull"' in head.headers["WWW-Authenticate"]
    closed = httpx.get(f"{harbor.url}/v2/closed/app/manifests/v1", headers=accept)
    assert closed.status_code == 401
    assert closed.headers["WWW-Authenticate"].startswith("Bearer ")
    with RegistryClient(harbor, anonymous=True) as client:
        assert get_manifest(client, "open/app", "v1")[0] == image.manifest_bytes
        assert client.request("HEAD", "/v2/closed/app/manifests/v1", headers=accept).status_code == 401
    # A token without the action: Harbor answers with a Basic challenge once Authorization was sent.
    pull_only = _token(harbor, "repository:open/app:push", anonymous=True)
    denied = httpx.put(
        f"{harbor.url}/v2/open/app/manifests/v2",
        headers={"Authorization": f"Bearer {pull_only}", "Content-Type": image.media_type},
        content=image.manifest_bytes,
    )
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"] == 'Basic realm="harbor"'
    assert "action: push" in denied.json()["errors"][0]["message"]


def test_projects_and_repositories_paginate_with_total_count_and_link(harbor: HarborEmulator) -> None:
    for name in ("alpha", "beta", "gamma"):
        harbor.add_project(name)
    image = build_image([BlobSpec(10, 4)])
    for repo in ("alpha/a", "alpha/b", "alpha/c/d"):
        push_image(harbor.registry, repo, "v1", image)
    with _api(harbor) as api:
        first = api.get("/projects", params={"page": 1, "page_size": 2})
        assert [p["name"] for p in first.json()] == ["alpha", "beta"]
        assert first.headers["X-Total-Count"] == "3"
        assert first.headers["Link"] == '</api/v2.0/projects?page=2&page_size=2>; rel="next"'
        second = api.get("/projects", params={"page": 2, "page_size": 2})
        assert [p["name"] for p in second.json()] == ["gamma"]
        assert second.headers["Link"] == '</api/v2.0/projects?page=1&page_size=2>; rel="prev"'
        assert api.get("/projects", params={"page_size": 101}).status_code == 422
        assert api.get("/projects").json()[0]["repo_count"] == 3
        assert [p["name"] for p in api.get("/projects", params={"name": "amm"}).json()] == ["gamma"]

        repos = api.get("/projects/alpha/repositories", params={"page_size": 2})
        assert repos.headers["X-Total-Count"] == "3"
        assert 'rel="next"' in repos.headers["Link"]
        entries = (
            repos.json() + api.get("/projects/alpha/repositories", params={"page": 2, "page_size": 2}).json()
        )
        assert [(r["name"], r["artifact_count"]) for r in entries] == [
            ("alpha/a", 1),
            ("alpha/b", 1),
            ("alpha/c/d", 1),
        ]
        assert {r["project_id"] for r in entries} == {harbor.projects["alpha"]}
        assert api.get("/projects/beta/repositories").json() == []


def test_artifacts_list_untagged_manifests_and_hide_index_children(harbor: HarborEmulator) -> None:
    harbor.add_project("lib")
    tagged = build_image([BlobSpec(1000, 5)])
    untagged = build_image([BlobSpec(2000, 6)])
    arm, amd = build_image([BlobSpec(10, 7)], architecture="arm64"), build_image([BlobSpec(10, 8)])
    index = build_index([arm, amd], oci=True)
    push_image(harbor.registry, "lib/app", "v1", tagged)
    push_image(harbor.registry, "lib/app", None, untagged)
    push_index(harbor.registry, "lib/app", "multi", index)
    with _api(harbor) as api:
        resp = api.get("/projects/lib/repositories/app/artifacts", params={"with_tag": "true"})
        artifacts = {a["digest"]: a for a in resp.json()}
        assert resp.headers["X-Total-Count"] == "3"
        assert set(artifacts) == {tagged.digest, untagged.digest, index.digest}
        assert artifacts[untagged.digest]["tags"] is None
        assert [t["name"] for t in artifacts[tagged.digest]["tags"]] == ["v1"]
        assert artifacts[tagged.digest]["type"] == "IMAGE"
        assert artifacts[tagged.digest]["media_type"] == "application/vnd.docker.container.image.v1+json"
        assert artifacts[tagged.digest]["manifest_media_type"] == tagged.media_type
        assert artifacts[tagged.digest]["size"] == len(tagged.manifest_bytes) + sum(
            b.size for b in tagged.blobs
        )
        references = artifacts[index.digest]["references"]
        assert [(r["child_digest"], r["platform"]["architecture"]) for r in references] == [
            (arm.digest, "arm64"),
            (amd.digest, "amd64"),
        ]
        assert artifacts[index.digest]["media_type"] == index.media_type
        assert artifacts[tagged.digest]["references"] is None
        untagged_only = api.get("/projects/lib/repositories/app/artifacts", params={"q": "tags=nil"}).json()
        assert [a["digest"] for a in untagged_only] == [untagged.digest]

        # Harbor lists a child at the top level once it has a tag of its own.
        push_image(harbor.registry, "lib/app", "arm", arm)
        digests = {a["digest"] for a in api.get("/projects/lib/repositories/app/artifacts").json()}
        assert digests == {tagged.digest, untagged.digest, index.digest, arm.digest}
        child = api.get(f"/projects/lib/repositories/app/artifacts/{amd.digest}")
        assert child.status_code == 200
        assert child.json()["extra_attrs"]["architecture"] == "amd64"
        page = api.get("/projects/lib/repositories/app/artifacts", params={"page_size": 3})
        assert page.headers["X-Total-Count"] == "4"
        assert len(page.json()) == 3
        assert 'rel="next"' in page.headers["Link"]


def test_labels_show_up_only_with_with_label(harbor: HarborEmulator) -> None:
    harbor.add_project("lib")
    image = build_image([BlobSpec(10, 9)])
    push_image(harbor.registry, "lib/app", "v1", image)
    production = harbor.add_label("production")
    harbor.add_label("staging")
    harbor.label_artifact("lib/app", image.digest, "production")
    path = "/projects/lib/repositories/app/artifacts"
    with _api(harbor) as api:
        labelled = api.get(path, params={"with_label": "true"}).json()[0]["labels"]
        assert [(label["id"], label["name"]) for label in labelled] == [(production, "production")]
        assert api.get(path).json()[0]["labels"] is None
        staging = next(x["id"] for x in api.get("/labels").json() if x["name"] == "staging")
        assert api.post(f"{path}/v1/labels", json={"id": staging}).status_code == 200
        assert api.post(f"{path}/v1/labels", json={"id": staging}).status_code == 409
        names = [x["name"] for x in api.get(path, params={"with_label": "true"}).json()[0]["labels"]]
        assert names == ["production", "staging"]


def test_repository_paths_with_a_slash_are_encoded_twice(harbor: HarborEmulator) -> None:
    harbor.add_project("lib")
    image = build_image([BlobSpec(10, 10)])
    push_image(harbor.registry, "lib/team/app", "v1", image)
    with _api(harbor) as api:
        twice = api.get("/projects/lib/repositories/team%252Fapp/artifacts")
        assert twice.status_code == 200
        assert [a["digest"] for a in twice.json()] == [image.digest]
        assert api.get("/projects/lib/repositories/team%252Fapp").json()["name"] == "lib/team/app"
        assert api.get("/projects/lib/repositories/team%2Fapp/artifacts").status_code == 404
        assert api.get("/projects/lib/repositories/nothing/artifacts").status_code == 404
    assert ("GET", "/api/v2.0/projects/lib/repositories/team%252Fapp/artifacts", 200) in harbor.api_calls


def test_deleting_artifacts_and_tags_changes_the_registry(harbor: HarborEmulator) -> None:
    harbor.add_project("lib")
    single = build_image([BlobSpec(10, 11)])
    arm, amd = build_image([BlobSpec(10, 12)], architecture="arm64"), build_image([BlobSpec(10, 13)])
    index = build_index([arm, amd], oci=False)
    push_image(harbor.registry, "lib/app", "v1", single)
    push_image(harbor.registry, "lib/app", "v2", single)
    push_index(harbor.registry, "lib/app", "multi", index)
    path = "/projects/lib/repositories/app/artifacts"
    with _api(harbor) as api:
        assert api.delete(f"{path}/{amd.digest}").status_code == 412  # an index refers to it
        assert api.delete(f"{path}/v1/tags/v1").status_code == 200
        assert sorted(list_tags(harbor.registry, "lib/app")) == ["multi", "v2"]
        assert api.post(f"{path}/v2/tags", json={"name": "v3"}).status_code == 201
        assert sorted(t["name"] for t in api.get(f"{path}/v2/tags").json()) == ["v2", "v3"]

        assert api.delete(f"{path}/multi").status_code == 200
        with RegistryClient(harbor.registry) as client:
            for digest in (index.digest, arm.digest, amd.digest):
                assert client.request("HEAD", f"/v2/lib/app/manifests/{digest}").status_code == 404
        assert [a["digest"] for a in api.get(path).json()] == [single.digest]
        assert api.delete(f"{path}/{single.digest}").status_code == 200
        assert api.get(path).json() == []
        assert api.get(f"{path}/{single.digest}").status_code == 404
