"""Fault injectors behave as documented — and what real distribution 2.8 does with cut uploads."""

from __future__ import annotations

import hashlib
import threading

import httpx
import pytest

from tests.support.blobs import CHUNK, BlobSpec
from tests.support.client import RegistryClient, blob_exists, get_blob
from tests.support.faults import CuttingProxy, FlakyProxy, HoldingProxy, RedirectingProxy, upload_patch
from tests.support.hostile import HostileRegistry
from tests.support.images import build_image, build_index, push_blob, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer


def _start_upload(client: httpx.Client, repo: str) -> str:
    resp = client.post(f"/v2/{repo}/blobs/uploads/")
    assert resp.status_code == 202
    return resp.headers["Location"]


def test_flaky_proxy_fails_first_requests_then_proxies_uploads(basic_registry: RegistryServer) -> None:
    with FlakyProxy(basic_registry, fail_statuses=[503, 429], retry_after="2") as proxy:
        auth = (basic_registry.username or "", basic_registry.password or "")
        first = httpx.get(f"{proxy.url}/v2/", auth=auth)
        second = httpx.get(f"{proxy.url}/v2/", auth=auth)
        assert (first.status_code, second.status_code) == (503, 429)
        assert first.headers["Retry-After"] == "2"
        assert second.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
        assert httpx.get(f"{proxy.url}/v2/", auth=auth).status_code == 200
        # Uploads keep going through the proxy: Location headers are rewritten.
        image = build_image([BlobSpec(CHUNK * 9, 11), BlobSpec(100, 12)])
        assert push_image(proxy, "via/proxy", "v1", image) == image.digest
        assert (proxy.matched, proxy.failed) == (len(proxy.requests), 2)
        puts = [r for r in proxy.requests if r.method == "PUT" and "/blobs/uploads/" in r.path]
        assert sorted(r.body_bytes_forwarded for r in puts) == sorted(b.size for b in image.blobs)
    assert blob_exists(basic_registry, "via/proxy", image.layers[0].digest)


def test_flaky_proxy_only_fails_matching_requests(registry: RegistryServer) -> None:
    with FlakyProxy(registry, fail_statuses=[500], match=lambda m, p: m == "HEAD") as proxy:
        assert httpx.get(f"{proxy.url}/v2/").status_code == 200
        assert httpx.head(f"{proxy.url}/v2/").status_code == 500
        assert httpx.head(f"{proxy.url}/v2/").status_code == 200
        assert (proxy.matched, proxy.failed) == (2, 1)


def test_cut_mid_body_kills_the_upload_session_in_distribution_2_8(registry: RegistryServer) -> None:
    """A partially received PATCH is stored, but the session's _state no longer matches: 404 + cancelled."""
    blob = BlobSpec(4 * CHUNK, 13)
    with (
        CuttingProxy(registry, cut_after_bytes=CHUNK, match=upload_patch) as proxy,
        httpx.Client(base_url=proxy.url) as client,
    ):
        location = _start_upload(client, "cut/app")
        with pytest.raises(httpx.TransportError):
            client.patch(location, content=blob.read())
        assert proxy.body_bytes_forwarded == CHUNK
        # distribution: "client disconnected during blob PATCH" -> 499, or 500 if it notices late
        assert proxy.requests[-1].status in (499, 500)
        status = client.get(location)
        assert status.status_code == 404
        assert status.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
        # The registry kept the partial bytes, so the size no longer matches _state.  ("offest" sic.)
        assert "upload resumed at wrong offest: 1048576 != 0" in registry.log_text()
        assert client.get(location).status_code == 404  # and the session is gone for good


def test_cut_before_body_leaves_the_session_resumable(registry: RegistryServer) -> None:
    """With 0 body bytes delivered the status GET reports the acknowledged range and resume works."""
    blob = BlobSpec(4 * CHUNK, 14)
    data = blob.read()
    half = 2 * CHUNK
    patches = iter([False, True])
    second_patch = lambda method, path: method == "PATCH" and next(patches)  # noqa: E731
    with (
        CuttingProxy(registry, cut_after_bytes=0, match=second_patch) as proxy,
        httpx.Client(base_url=proxy.url) as client,
    ):
        location = _start_upload(client, "cut/app")
        first = client.patch(location, content=data[:half], headers={"Content-Range": f"0-{half - 1}"})
        assert (first.status_code, first.headers["Range"]) == (202, f"0-{half - 1}")
        acknowledged = first.headers["Location"]
        with pytest.raises(httpx.TransportError):
            client.patch(
                acknowledged, content=data[half:], headers={"Content-Range": f"{half}-{blob.size - 1}"}
            )
        status = client.get(acknowledged)
        assert (status.status_code, status.headers["Range"]) == (204, f"0-{half - 1}")
        rest = client.patch(status.headers["Location"], content=data[half:])
        assert rest.status_code == 202
        done = client.put(httpx.URL(rest.headers["Location"]).copy_merge_params({"digest": blob.digest}))
        assert done.status_code == 201
        assert proxy.body_bytes_forwarded == blob.size  # resumed, not restarted
        assert proxy.cuts == 1
    assert get_blob(registry, "cut/app", blob.digest) == data


def test_cut_response_means_the_server_did_the_work(registry: RegistryServer) -> None:
    blob = BlobSpec(1000, 15)
    with CuttingProxy(registry, cut_after_bytes=0, where="response") as proxy:
        with pytest.raises(httpx.TransportError):
            push_blob(proxy, "cut/app", blob)
        assert proxy.requests[-1].status == 201  # upstream answered; the client never saw it
    assert blob_exists(registry, "cut/app", blob.digest)


@pytest.mark.parametrize("fixture", ["basic_registry", "token_registry"])
def test_redirected_blob_download_needs_no_credentials(fixture: str, request: pytest.FixtureRequest) -> None:
    upstream: RegistryServer = request.getfixturevalue(fixture)
    image = build_image([BlobSpec(5000, 16)])
    push_image(upstream, "redir/app", "v1", image)
    with RedirectingProxy(upstream, storage_host="localhost") as proxy, RegistryClient(proxy) as client:
        layer = image.layers[0]
        raw = client.request("GET", f"/v2/redir/app/blobs/{layer.digest}", follow_redirects=False)
        assert raw.status_code == 307
        assert raw.headers["Location"].startswith(f"http://localhost:{proxy.storage.port}/storage/redir/app/")
        assert get_blob(client, "redir/app", layer.digest) == layer.read()  # httpx drops auth cross-origin
        assert proxy.redirects == 2
        assert len(proxy.storage.requests) == 1
        assert proxy.storage.authorization_seen == []
        assert (
            client.request("HEAD", f"/v2/redir/app/blobs/{layer.digest}").status_code == 200
        )  # not redirected


@pytest.mark.parametrize(("corrupt", "delta"), [("bytes", 0), ("longer", 17), ("shorter", -1)])
def test_hostile_registry_serves_lies(corrupt: str, delta: int) -> None:
    layer = BlobSpec(CHUNK * 2 + 5, 17)
    image = build_image([layer, BlobSpec(10, 18)], oci=True)
    with HostileRegistry(image, corrupt=corrupt) as hostile:  # type: ignore[arg-type]
        assert httpx.get(f"{hostile.url}/v2/").status_code == 200
        manifest = httpx.get(f"{hostile.url}/v2/hostile/app/manifests/latest")
        assert manifest.content == image.manifest_bytes
        resp = httpx.get(f"{hostile.url}/v2/hostile/app/blobs/{layer.digest}")
        assert resp.headers["Docker-Content-Digest"] == layer.digest  # claims the right digest
        assert len(resp.content) == layer.size + delta == int(resp.headers["Content-Length"])
        assert "sha256:" + hashlib.sha256(resp.content).hexdigest() != layer.digest
        good = httpx.get(f"{hostile.url}/v2/hostile/app/blobs/{image.config.digest}")
        assert good.content == image.config.read()
        assert httpx.head(f"{hostile.url}/v2/hostile/app/blobs/sha256:{'0' * 64}").status_code == 404
        assert ("GET", f"/v2/hostile/app/blobs/{layer.digest}") in hostile.requests


def test_hostile_registry_can_lie_about_a_manifest_in_an_index() -> None:
    child = build_image([BlobSpec(10, 19)])
    index = build_index([child], oci=False)
    with HostileRegistry(index, corrupt="bytes", corrupt_digest=child.digest) as hostile:
        assert httpx.get(f"{hostile.url}/v2/hostile/app/manifests/latest").content == index.manifest_bytes
        lying = httpx.get(f"{hostile.url}/v2/hostile/app/manifests/{child.digest}")
        assert lying.headers["Docker-Content-Digest"] == child.digest
        assert hashlib.sha256(lying.content).hexdigest() != child.digest.removeprefix("sha256:")


def test_proxy_streams_chunked_request_bodies(registry: RegistryServer) -> None:
    """Clients that stream without Content-Length (chunked) go through intact."""
    blob = BlobSpec(CHUNK * 24 + 7, 20)
    with FlakyProxy(registry, fail_statuses=[]) as proxy, httpx.Client(base_url=proxy.url) as client:
        location = _start_upload(client, "chunked/app")
        patch = client.patch(location, content=blob.iter_chunks())  # generator: chunked encoding
        assert patch.status_code == 202
        assert proxy.requests[-1].headers.get("transfer-encoding") == "chunked"
        assert proxy.requests[-1].body_bytes_forwarded == blob.size
        done = client.put(httpx.URL(patch.headers["Location"]).copy_merge_params({"digest": blob.digest}))
        assert done.status_code == 201
        with client.stream("GET", f"/v2/chunked/app/blobs/{blob.digest}") as download:
            hasher = hashlib.sha256()
            for piece in download.iter_bytes():
                hasher.update(piece)
        assert "sha256:" + hasher.hexdigest() == blob.digest


def test_proxy_relays_an_early_answer_to_a_large_body(token_registry: RegistryServer) -> None:
    """distribution answers 401 without reading the body; through the proxy the client still sees it."""
    blob = BlobSpec(CHUNK * 16, 22)
    with FlakyProxy(token_registry, fail_statuses=[]) as proxy, httpx.Client(base_url=proxy.url) as client:
        resp = client.put(
            "/v2/a/b/blobs/uploads/whatever",
            content=blob.iter_chunks(),
            headers={"Content-Length": str(blob.size)},
        )
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer realm=")
        assert proxy.requests[-1].body_bytes_forwarded < blob.size


def test_proxy_in_front_of_a_tls_registry_speaks_plain_http(tls_registry: RegistryServer) -> None:
    image = build_image([BlobSpec(CHUNK + 1, 23)], oci=True)
    with FlakyProxy(tls_registry, fail_statuses=[503], match=lambda m, p: m == "PUT") as proxy:
        assert proxy.url.startswith("http://")
        with pytest.raises(RuntimeError, match="503"):
            push_image(proxy, "tls/app", "v1", image)
        assert push_image(proxy, "tls/app", "v1", image) == image.digest
    assert blob_exists(tls_registry, "tls/app", image.layers[0].digest)


def test_holding_proxy_keeps_uploads_waiting_until_released(registry: RegistryServer) -> None:
    image = build_image([BlobSpec(CHUNK * 3, 24)])
    pushed: list[str] = []
    with HoldingProxy(registry) as proxy:
        assert push_image(proxy, "open/app", "v1", image) == image.digest  # open until hold()
        proxy.hold()
        pusher = threading.Thread(target=lambda: pushed.append(push_image(proxy, "held/app", "v1", image)))
        pusher.start()
        wait_until(lambda: proxy.held or None, what="an upload held by the proxy")
        assert httpx.get(f"{proxy.url}/v2/").status_code == 200  # only uploads wait
        assert pushed == []
        assert not blob_exists(registry, "held/app", image.layers[0].digest)
        proxy.release()
        pusher.join(timeout=10)
    assert pushed == [image.digest]
    assert proxy.held >= 1
