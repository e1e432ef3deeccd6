"""The ACR emulator answers as the facts in shared/reference/alibaba-acr.md say ACR does.

OpenAPI requests are signed here with Alibaba's own ``alibabacloud_openapi_util``, as
Alibaba's SDKs sign them, so the emulator's verification is checked against the real signer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from alibabacloud_openapi_util.client import Client as OpenApiUtil

from tests.support.acr_emulator import EMPTY_CONFIG, AcrEmulator, Edition
from tests.support.blobs import BlobSpec
from tests.support.client import RegistryClient, get_blob, get_manifest, list_tags, manifest_digest
from tests.support.images import build_image, push_image
from tests.support.skopeo import skopeo_copy

ALICE_KEY = ("LTAI5tAliceKey00000000", "alice-secret")
BOB_KEY = ("LTAI5tBobKey0000000000", "bob-secret")
CAROL_KEY = ("LTAI5tCarolKey00000000", "carol-secret")
VERSION: dict[Edition, str] = {"personal": "2016-06-07", "enterprise": "2018-12-01"}
DENIED = {
    "errors": [{"code": "DENIED", "message": "requested access to the resource is denied", "detail": None}]
}


def _emulator(workdir: Path, edition: Edition) -> AcrEmulator:
    emu = AcrEmulator(workdir, edition=edition, region="cn-shanghai", instance_id="cri-test0000000042")
    emu.start()
    emu.add_account("alice", "alice-pass")  # the default account: emu.username / emu.password
    emu.add_account("bob", "bob-pass")
    emu.add_account("carol", None)  # never set a fixed password (never opened ACR)
    emu.add_access_key("alice", *ALICE_KEY)
    emu.add_access_key("bob", *BOB_KEY)
    emu.add_access_key("carol", *CAROL_KEY)
    emu.add_namespace("alice-ns", "alice")
    emu.add_namespace("bob-ns", "bob")
    return emu


@pytest.fixture(params=["personal", "enterprise"])
def acr(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AcrEmulator]:
    emu = _emulator(tmp_path / "acr", request.param)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def personal(tmp_path: Path) -> Iterator[AcrEmulator]:
    emu = _emulator(tmp_path / "acr", "personal")
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def enterprise(tmp_path: Path) -> Iterator[AcrEmulator]:
    emu = _emulator(tmp_path / "acr", "enterprise")
    try:
        yield emu
    finally:
        emu.stop()


# -- helpers ---------------------------------------------------------------------------------
def _signed(
    emu: AcrEmulator,
    method: str,
    path: str,
    *,
    action: str,
    key: tuple[str, str] = ALICE_KEY,
    query: dict[str, str] | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    version: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Headers (Authorization included) and query of a request signed as Alibaba's SDK signs it."""
    query = dict(query or {})
    headers = {
        "host": emu.openapi_url.removeprefix("http://"),
        "x-acs-action": action,
        "x-acs-version": version or VERSION[emu.edition],
        "x-acs-date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if content_type is not None:
        headers["content-type"] = content_type
    request = SimpleNamespace(method=method, pathname=path, query=query, headers=headers)
    headers["Authorization"] = OpenApiUtil.get_authorization(
        request, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], key[0], key[1]
    )
    return headers, query


def _send(
    emu: AcrEmulator,
    method: str,
    path: str,
    headers: dict[str, str],
    query: dict[str, str],
    body: bytes = b"",
) -> httpx.Response:
    return httpx.request(method, emu.openapi_url + path, params=query, headers=headers, content=body)


def _roa(
    emu: AcrEmulator, method: str, path: str, action: str, *, key: tuple[str, str] = ALICE_KEY, **kw: Any
) -> httpx.Response:
    body: bytes = kw.pop("body", b"")
    headers, query = _signed(emu, method, path, action=action, key=key, body=body, **kw)
    return _send(emu, method, path, headers, query, body)


def _rpc(emu: AcrEmulator, action: str, *, key: tuple[str, str] = ALICE_KEY, **params: str) -> httpx.Response:
    query = {"InstanceId": emu.instance_id, **params}
    headers, query = _signed(emu, "POST", "/", action=action, key=key, query=query)
    return _send(emu, "POST", "/", headers, query)


def _temp_credentials(emu: AcrEmulator, key: tuple[str, str] = ALICE_KEY) -> tuple[str, str]:
    if emu.edition == "personal":
        resp = _roa(emu, "GET", "/tokens", "GetAuthorizationToken", key=key)
        assert resp.status_code == 200, resp.text
        data = resp.json()["data"]
        return data["tempUserName"], data["authorizationToken"]
    resp = _rpc(emu, "GetAuthorizationToken", key=key)
    body = resp.json()
    assert body["IsSuccess"] is True, body
    return body["TempUsername"], body["AuthorizationToken"]


def _token(emu: AcrEmulator, scope: str | None, auth: tuple[str, str] | None) -> httpx.Response:
    params = {"service": emu.service} | ({"scope": scope} if scope else {})
    return httpx.get(f"{emu.url}/auth", params=params, auth=auth)


def _bearer(emu: AcrEmulator, scope: str, auth: tuple[str, str]) -> dict[str, str]:
    resp = _token(emu, scope, auth)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def _image(seed: int, *, oci: bool = False) -> Any:
    return build_image([BlobSpec(2048, seed=seed)], oci=oci)


def _create_namespace(emu: AcrEmulator, name: str, key: tuple[str, str] = ALICE_KEY) -> httpx.Response:
    if emu.edition == "personal":
        body = json.dumps({"Namespace": {"Namespace": name}}).encode()
        return _roa(
            emu, "PUT", "/namespace", "CreateNamespace", key=key, body=body, content_type="application/json"
        )
    return _rpc(
        emu, "CreateNamespace", key=key, NamespaceName=name, AutoCreateRepo="true", DefaultRepoType="PRIVATE"
    )


def _tags(emu: AcrEmulator, namespace: str, repo: str) -> list[tuple[str, str]]:
    """``(tag, digest)`` pairs from the edition's OpenAPI tag listing."""
    if emu.edition == "personal":
        resp = _roa(
            emu,
            "GET",
            f"/repos/{namespace}/{repo}/tags",
            "GetRepoTags",
            query={"Page": "1", "PageSize": "30"},
        )
        assert resp.status_code == 200, resp.text
        data = resp.json()["data"]
        assert data["total"] == len(data["tags"])
        return sorted((t["tag"], t["digest"]) for t in data["tags"])
    repo_id = _rpc(emu, "GetRepository", RepoNamespaceName=namespace, RepoName=repo).json()["RepoId"]
    body = _rpc(emu, "ListRepoTag", RepoId=repo_id, PageNo="1", PageSize="30").json()
    assert body["IsSuccess"] is True, body
    assert body["TotalCount"] == str(len(body["Images"]))
    return sorted((i["Tag"], i["Digest"]) for i in body["Images"])


def _delete_tag(emu: AcrEmulator, namespace: str, repo: str, tag: str) -> None:
    if emu.edition == "personal":
        resp = _roa(emu, "DELETE", f"/repos/{namespace}/{repo}/tags/{tag}", "DeleteRepoTag")
        assert resp.status_code == 200, resp.text
        assert resp.json()["data"] == {}
        return
    repo_id = _rpc(emu, "GetRepository", RepoNamespaceName=namespace, RepoName=repo).json()["RepoId"]
    body = _rpc(emu, "DeleteRepoTag", RepoId=repo_id, Tag=tag).json()
    assert (body["IsSuccess"], body["Code"]) == (True, "success"), body


# -- registry endpoint -----------------------------------------------------------------------
def test_challenge_names_the_token_service_of_the_edition(acr: AcrEmulator) -> None:
    expected_service = {
        "personal": "registry.aliyuncs.com:cn-shanghai:26842",
        "enterprise": "registry.aliyuncs.com:cn-shanghai:china:cri-test0000000042",
    }[acr.edition]
    assert acr.service == expected_service
    realm = f'Bearer realm="{acr.url}/auth",service="{expected_service}"'
    ping = httpx.get(f"{acr.url}/v2/")
    assert ping.status_code == 401
    assert ping.headers["WWW-Authenticate"] == realm
    assert ping.json()["errors"][0]["code"] == "UNAUTHORIZED"
    pull = httpx.get(f"{acr.url}/v2/alice-ns/app/manifests/v1")
    assert pull.status_code == 401
    assert pull.headers["WWW-Authenticate"] == realm + ',scope="repository:alice-ns/app:pull"'
    push = httpx.post(f"{acr.url}/v2/alice-ns/app/blobs/uploads/")
    assert push.status_code == 401
    assert push.headers["WWW-Authenticate"] == realm + ',scope="repository:alice-ns/app:pull,push"'
    assert push.json()["errors"][0]["code"] == "UNAUTHORIZED"
    # with any valid token the ping succeeds
    ok = httpx.get(f"{acr.url}/v2/", headers=_bearer(acr, "", ("alice", "alice-pass")))
    assert ok.status_code == 200


def test_token_service_checks_the_fixed_password(personal: AcrEmulator) -> None:
    scope = "repository:alice-ns/app:pull,push"
    unauthorized = {
        "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]
    }
    for auth in [("alice", "wrong"), ("nobody", "alice-pass"), ("bob", "alice-pass")]:
        resp = _token(personal, scope, auth)
        assert resp.status_code == 401, auth
        assert resp.json() == unauthorized
    good = _token(personal, scope, ("alice", "alice-pass"))
    assert good.status_code == 200
    assert set(good.json()) == {"token", "expires_in"}
    assert good.json()["expires_in"] == 3600
    # `docker login` asks without a scope: credentials are still checked
    assert _token(personal, None, ("alice", "wrong")).status_code == 401
    assert _token(personal, None, ("alice", "alice-pass")).status_code == 200


def test_account_without_a_fixed_password_cannot_log_in(personal: AcrEmulator) -> None:
    for password in ["", "None", "carol-pass"]:
        assert _token(personal, "repository:alice-ns/app:pull", ("carol", password)).status_code == 401
    with (
        RegistryClient(personal, username="carol", password="x") as carol,
        pytest.raises(RuntimeError, match="token request failed: 401"),
    ):
        list_tags(carol, "alice-ns/app")


def test_namespace_of_another_account_is_denied_at_blob_head_and_upload(acr: AcrEmulator) -> None:
    blob = BlobSpec(100, seed=3)
    with RegistryClient(acr) as alice:  # the client's own token flow: pull for HEAD, pull+push for POST
        head = alice.request("HEAD", f"/v2/bob-ns/app/blobs/{blob.digest}")
        assert head.status_code == 403
        post = alice.request("POST", "/v2/bob-ns/app/blobs/uploads/")
        assert post.status_code == 403
        assert post.json() == DENIED
        missing = alice.request("POST", "/v2/no-such-ns/app/blobs/uploads/")
        assert missing.status_code == 403
        assert missing.json() == DENIED
    assert acr.denied == [
        ("HEAD", f"/v2/bob-ns/app/blobs/{blob.digest}"),
        ("POST", "/v2/bob-ns/app/blobs/uploads/"),
        ("POST", "/v2/no-such-ns/app/blobs/uploads/"),
    ]
    assert "bob-ns/app" not in acr.repositories
    # bob can, in his own namespace
    push_image(RegistryClient(acr, username="bob", password="bob-pass"), "bob-ns/app", "v1", _image(3))
    assert "bob-ns/app" in acr.repositories


def test_paths_are_exactly_two_levels(personal: AcrEmulator) -> None:
    with RegistryClient(personal) as alice:
        resp = alice.request("POST", "/v2/alice-ns/team/app/blobs/uploads/")
    assert resp.status_code == 403
    assert resp.json() == DENIED


def test_anonymous_token_grants_nothing(personal: AcrEmulator) -> None:
    anonymous = _token(personal, "repository:alice-ns/app:pull", None)
    assert anonymous.status_code == 200
    headers = {"Authorization": f"Bearer {anonymous.json()['token']}"}
    resp = httpx.get(f"{personal.url}/v2/alice-ns/app/tags/list", headers=headers)
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_push_into_own_namespace_creates_the_repository(acr: AcrEmulator) -> None:
    image = _image(1)
    assert "alice-ns/app" not in acr.repositories
    with RegistryClient(acr) as alice:
        start = alice.request("POST", "/v2/alice-ns/app/blobs/uploads/")
        assert start.status_code == 202
        assert start.headers["Location"].startswith(f"{acr.url}/v2/alice-ns/app/blobs/uploads/")
        assert push_image(alice, "alice-ns/app", "v1", image) == image.digest
    assert "alice-ns/app" in acr.repositories
    # pulled back through the emulator, with a fresh client
    with RegistryClient(acr) as reader:
        raw, media_type = get_manifest(reader, "alice-ns/app", "v1")
        assert (raw, media_type) == (image.manifest_bytes, image.media_type)
        assert get_blob(reader, "alice-ns/app", image.layers[0].digest) == image.layers[0].read()
        assert list_tags(reader, "alice-ns/app") == ["v1"]
    assert acr.denied == []


def test_chunked_upload_is_streamed_through(personal: AcrEmulator) -> None:
    blob = BlobSpec(3 * 1024 * 1024 + 17, seed=12)
    with RegistryClient(personal) as alice:
        start = alice.request("POST", "/v2/alice-ns/app/blobs/uploads/")
        assert start.status_code == 202
        patch = alice.http.patch(  # a generator body: Transfer-Encoding chunked
            start.headers["Location"],
            content=blob.iter_chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert patch.status_code == 202, patch.text
        assert patch.headers["Range"] == f"0-{blob.size - 1}"
        url = alice.http.base_url.join(patch.headers["Location"]).copy_merge_params({"digest": blob.digest})
        assert alice.http.put(url).status_code == 201
        head = alice.request("HEAD", f"/v2/alice-ns/app/blobs/{blob.digest}")
        assert head.headers["Content-Length"] == str(blob.size)
        assert head.headers["Docker-Content-Digest"] == blob.digest
        digest = hashlib.sha256()
        with alice.http.stream("GET", f"/v2/alice-ns/app/blobs/{blob.digest}") as resp:
            for piece in resp.iter_bytes():
                digest.update(piece)
        assert f"sha256:{digest.hexdigest()}" == blob.digest


def test_skopeo_pushes_and_reads_through_the_token_flow(personal: AcrEmulator, tmp_path: Path) -> None:
    image = _image(9, oci=True)
    push_image(personal.registry, "seed/app", "v1", image)  # content straight into the real registry
    skopeo_copy(personal.registry, "seed/app", "v1", personal, "alice-ns/copy", "v1")
    assert manifest_digest(personal, "alice-ns/copy", "v1") == image.digest
    assert "alice-ns/copy" in personal.repositories


def test_namespace_without_auto_create_needs_the_repository_first(personal: AcrEmulator) -> None:
    personal.add_namespace("manual", "alice", auto_create_repo=False)
    image = _image(2)
    with RegistryClient(personal) as alice:
        assert alice.request("POST", "/v2/manual/app/blobs/uploads/").status_code == 403
    personal.add_repository("manual", "app")
    assert push_image(RegistryClient(personal), "manual/app", "v1", image) == image.digest
    assert personal.repositories >= {"manual/app"}


def test_empty_config_manifest_is_rejected_with_acrs_text(acr: AcrEmulator) -> None:
    layer = BlobSpec(512, seed=4)
    attestation = build_image(
        [layer], oci=True, config_media_type=EMPTY_CONFIG, artifact_type="application/vnd.in-toto+json"
    )
    assert attestation.manifest["config"]["mediaType"] == EMPTY_CONFIG
    with pytest.raises(RuntimeError, match="403") as failure:
        push_image(acr, "alice-ns/app", "att", attestation)
    assert "unknown manifest class for application/vnd.oci.empty.v1+json" in str(failure.value)
    with RegistryClient(acr) as alice:
        resp = alice.request(
            "PUT",
            "/v2/alice-ns/app/manifests/att",
            content=attestation.manifest_bytes,
            headers={"Content-Type": attestation.media_type},
        )
    assert resp.status_code == 403
    assert resp.json() == {
        "errors": [
            {
                "code": "DENIED",
                "message": "unknown manifest class for application/vnd.oci.empty.v1+json",
                "detail": None,
            }
        ]
    }
    assert ("PUT", "/v2/alice-ns/app/manifests/att") in acr.denied
    # the same layer with an OCI image config passes
    image = build_image([layer], oci=True)
    assert push_image(acr, "alice-ns/app", "img", image) == image.digest
    assert list_tags(acr, "alice-ns/app") == ["img"]


def test_catalog_is_not_supported(personal: AcrEmulator) -> None:
    for headers in [{}, _bearer(personal, "registry:catalog:*", ("alice", "alice-pass"))]:
        resp = httpx.get(f"{personal.url}/v2/_catalog", headers=headers)
        assert resp.status_code == 404
        assert resp.json()["errors"][0]["code"] == "UNSUPPORTED"


# -- OpenAPI: signatures ---------------------------------------------------------------------
def test_signed_call_works_and_is_recorded(personal: AcrEmulator) -> None:
    resp = _roa(personal, "GET", "/namespace", "GetNamespaceList")
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["namespaces"] == [
        {"namespace": "alice-ns", "authorizeType": "ADMIN", "namespaceStatus": "NORMAL"}
    ]
    assert "requestId" in resp.json()
    assert [(a, k) for a, _t, k in personal.openapi_calls] == [("GetNamespaceList", ALICE_KEY[0])]


def test_tampered_request_gets_signature_does_not_match(personal: AcrEmulator) -> None:
    headers, query = _signed(personal, "GET", "/namespace/alice-ns", action="GetNamespace")
    tampered = _send(personal, "GET", "/namespace/bob-ns", headers, query)  # path changed after signing
    assert tampered.status_code == 400
    assert tampered.json()["Code"] == "SignatureDoesNotMatch"
    assert tampered.json()["RequestId"]
    headers, query = _signed(
        personal, "GET", "/repos/alice-ns", action="GetRepoListByNamespace", query={"Page": "1"}
    )
    assert (
        _send(personal, "GET", "/repos/alice-ns", headers, {"Page": "2"}).json()["Code"]
        == "SignatureDoesNotMatch"
    )
    wrong_secret = _roa(
        personal, "GET", "/namespace", "GetNamespaceList", key=(ALICE_KEY[0], "not-the-secret")
    )
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["Code"] == "SignatureDoesNotMatch"
    # a body that is not the one whose hash was signed
    body = json.dumps({"Namespace": {"Namespace": "evil"}}).encode()
    headers, query = _signed(personal, "PUT", "/namespace", action="CreateNamespace", body=b"{}")
    assert (
        _send(personal, "PUT", "/namespace", headers, query, body).json()["Code"] == "SignatureDoesNotMatch"
    )
    assert "evil" not in personal.namespaces


def test_unknown_key_and_missing_signature(personal: AcrEmulator) -> None:
    unknown = _roa(personal, "GET", "/namespace", "GetNamespaceList", key=("LTAI5tNobody", "x"))
    assert unknown.status_code == 404
    assert unknown.json()["Code"] == "InvalidAccessKeyId.NotFound"
    assert unknown.json()["Message"] == "Specified access key is not found."
    bare = httpx.get(f"{personal.openapi_url}/namespace", headers={"x-acs-action": "GetNamespaceList"})
    assert bare.status_code == 400
    assert bare.json()["Code"] == "IncompleteSignature"
    headers, query = _signed(personal, "GET", "/namespace", action="GetNamespaceList")
    headers["Authorization"] = headers["Authorization"].replace("Signature=", "Sig=")
    assert _send(personal, "GET", "/namespace", headers, query).json()["Code"] == "IncompleteSignature"


def test_a_nonce_is_used_once(personal: AcrEmulator) -> None:
    headers, query = _signed(personal, "GET", "/namespace", action="GetNamespaceList")
    assert _send(personal, "GET", "/namespace", headers, query).status_code == 200
    replay = _send(personal, "GET", "/namespace", headers, query)
    assert replay.status_code == 400
    assert replay.json()["Code"] == "SignatureNonceUsed"


def test_wrong_edition_is_an_unknown_action(personal: AcrEmulator, enterprise: AcrEmulator) -> None:
    rpc_on_personal = _rpc(personal, "GetNamespace", NamespaceName="alice-ns")
    assert rpc_on_personal.status_code == 404
    assert rpc_on_personal.json()["Code"] == "InvalidAction.NotFound"
    roa_on_enterprise = _roa(enterprise, "GET", "/tokens", "GetAuthorizationToken", version="2016-06-07")
    assert roa_on_enterprise.status_code == 404
    assert roa_on_enterprise.json()["Code"] == "InvalidAction.NotFound"
    wrong_method = _roa(personal, "POST", "/tokens", "GetAuthorizationToken")
    assert wrong_method.json()["Code"] == "InvalidAction.NotFound"


def test_enterprise_calls_need_the_instance_id(enterprise: AcrEmulator) -> None:
    headers, query = _signed(
        enterprise, "POST", "/", action="ListNamespace", query={"InstanceId": "cri-other"}
    )
    resp = _send(enterprise, "POST", "/", headers, query)
    assert resp.status_code == 404
    assert resp.json()["Code"] == "INSTANCE_NOT_EXIST"
    headers, query = _signed(enterprise, "POST", "/", action="ListNamespace")
    assert _send(enterprise, "POST", "/", headers, query).json()["Code"] == "INSTANCE_NOT_EXIST"


# -- OpenAPI: actions ------------------------------------------------------------------------
def test_temporary_credentials_log_in_and_push(acr: AcrEmulator) -> None:
    user, password = _temp_credentials(acr)
    assert user == "cr_temp_user"
    assert password != "alice-pass"
    assert _token(acr, "repository:alice-ns/app:pull,push", (user, password)).status_code == 200
    assert _token(acr, "repository:alice-ns/app:pull,push", (user, "guess")).status_code == 401
    assert _token(acr, "repository:alice-ns/app:pull,push", ("alice", password)).status_code == 401
    image = _image(5)
    with RegistryClient(acr, username=user, password=password) as temp:
        assert push_image(temp, "alice-ns/app", "v1", image) == image.digest
        assert (
            temp.request("POST", "/v2/bob-ns/app/blobs/uploads/").status_code == 403
        )  # still alice's rights
    if acr.edition == "personal":
        expire = _roa(acr, "GET", "/tokens", "GetAuthorizationToken").json()["data"]["expireDate"]
    else:
        expire = _rpc(acr, "GetAuthorizationToken").json()["ExpireTime"]
    assert isinstance(expire, int)
    assert expire > dt.datetime.now(dt.UTC).timestamp() * 1000 + 50 * 60 * 1000  # about an hour, in ms


def test_temporary_credentials_need_a_fixed_password_set_once(acr: AcrEmulator) -> None:
    if acr.edition == "personal":
        resp = _roa(acr, "GET", "/tokens", "GetAuthorizationToken", key=CAROL_KEY)
        assert resp.status_code == 400
        assert (resp.json()["code"], resp.json()["message"]) == ("USER_NOT_EXIST", "user not exist")
    else:
        body = _rpc(acr, "GetAuthorizationToken", key=CAROL_KEY).json()
        assert (body["IsSuccess"], body["Code"]) == (False, "USER_NOT_EXIST")


def test_get_namespace(acr: AcrEmulator) -> None:
    if acr.edition == "personal":
        own = _roa(acr, "GET", "/namespace/alice-ns", "GetNamespace")
        assert own.status_code == 200
        assert own.json()["data"] == {
            "namespace": "alice-ns",
            "authorizeType": "ADMIN",
            "namespaceStatus": "NORMAL",
            "autoCreate": True,
            "defaultVisibility": "PRIVATE",
        }
        for name in ["lgy-images", "bob-ns"]:  # missing, and someone else's
            resp = _roa(acr, "GET", f"/namespace/{name}", "GetNamespace")
            assert resp.status_code == 404
            assert (resp.json()["code"], resp.json()["message"]) == (
                "NAMESPACE_NOT_EXIST",
                "namespace not exist",
            )
    else:
        own = _rpc(acr, "GetNamespace", NamespaceName="alice-ns").json()
        assert (own["IsSuccess"], own["Code"], own["NamespaceName"]) == (True, "success", "alice-ns")
        assert (own["AutoCreateRepo"], own["DefaultRepoType"]) == (True, "PRIVATE")
        assert own["NamespaceId"]
        for name in ["lgy-images", "bob-ns"]:
            resp = _rpc(acr, "GetNamespace", NamespaceName=name)
            assert resp.status_code == 200
            assert (resp.json()["IsSuccess"], resp.json()["Code"]) == (False, "NAMESPACE_NOT_EXIST")


def test_create_namespace_then_push(acr: AcrEmulator) -> None:
    image = _image(6)
    with RegistryClient(acr) as alice:
        assert alice.request("POST", "/v2/lgy-images/app/blobs/uploads/").status_code == 403
    created = _create_namespace(acr, "lgy-images")
    assert created.status_code == 200, created.text
    if acr.edition == "personal":
        assert isinstance(created.json()["data"]["namespaceId"], int)
    else:
        assert (created.json()["IsSuccess"], created.json()["Code"]) == (True, "success")
    assert acr.namespaces["lgy-images"] == "alice"
    assert push_image(acr, "lgy-images/app", "v1", image) == image.digest  # a fresh client: a fresh token
    assert "lgy-images/app" in acr.repositories


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("a", "NAMESPACE_NAME_INVALID"),
        ("-lead", "NAMESPACE_NAME_INVALID"),
        ("_lead", "NAMESPACE_NAME_INVALID"),
        ("Upper", "NAMESPACE_NAME_INVALID"),
        ("x" * 31, "NAMESPACE_NAME_INVALID"),
        ("bob-ns", "NAMESPACE_ALREADY_EXIST"),
    ],
)
def test_create_namespace_refusals(personal: AcrEmulator, name: str, code: str) -> None:
    resp = _create_namespace(personal, name)
    assert resp.status_code == 400
    assert resp.json()["code"] == code
    assert personal.namespaces.get(name) in (None, "bob")


def test_personal_account_owns_at_most_three_namespaces(personal: AcrEmulator) -> None:
    assert _create_namespace(personal, "second").status_code == 200
    assert _create_namespace(personal, "x" * 30).status_code == 200
    resp = _create_namespace(personal, "fourth")
    assert resp.status_code == 400
    assert resp.json()["code"] == "NAMESPACE_LIMIT_EXCEED"
    assert (
        _create_namespace(personal, "bobs-second", key=BOB_KEY).status_code == 200
    )  # the limit is per account


def test_enterprise_refusals_are_http_200_with_is_success_false(enterprise: AcrEmulator) -> None:
    resp = _create_namespace(enterprise, "bob-ns")
    assert resp.status_code == 200
    assert (resp.json()["IsSuccess"], resp.json()["Code"]) == (False, "NAMESPACE_ALREADY_EXIST")
    missing = _rpc(enterprise, "GetRepository", RepoNamespaceName="alice-ns", RepoName="nope").json()
    assert (missing["IsSuccess"], missing["Code"]) == (False, "REPO_NOT_EXIST")


def test_repository_listings(acr: AcrEmulator) -> None:
    push_image(acr, "alice-ns/one", "v1", _image(7))
    push_image(acr, "alice-ns/two", "v1", _image(8))
    if acr.edition == "personal":
        data = _roa(
            acr, "GET", "/repos/alice-ns", "GetRepoListByNamespace", query={"Page": "1", "PageSize": "1"}
        )
        page = data.json()["data"]
        assert (page["total"], page["page"], page["pageSize"]) == (2, 1, 1)
        assert [(r["repoName"], r["repoNamespace"], r["repoType"]) for r in page["repos"]] == [
            ("one", "alice-ns", "PRIVATE")
        ]
        assert (
            _roa(acr, "GET", "/repos/bob-ns", "GetRepoListByNamespace").json()["code"]
            == "NAMESPACE_NOT_EXIST"
        )
        bad_page = _roa(acr, "GET", "/repos/alice-ns", "GetRepoListByNamespace", query={"Page": "0"})
        assert (bad_page.status_code, bad_page.json()["code"]) == (400, "PARAM_INVALID")
        missing = _roa(acr, "GET", "/repos/alice-ns/nope/tags", "GetRepoTags")
        assert missing.status_code == 404
        assert missing.json()["code"] == "REPO_NOT_EXIST"
    else:
        namespaces = _rpc(acr, "ListNamespace", PageNo="1", PageSize="30").json()
        assert [n["NamespaceName"] for n in namespaces["Namespaces"]] == ["alice-ns"]
        assert namespaces["TotalCount"] == "1"
        listed = _rpc(acr, "ListRepository", RepoNamespaceName="alice-ns", PageNo="1", PageSize="30").json()
        assert listed["TotalCount"] == "2"
        assert [(r["RepoName"], r["RepoNamespaceName"]) for r in listed["Repositories"]] == [
            ("one", "alice-ns"),
            ("two", "alice-ns"),
        ]
        assert all(r["RepoId"].startswith("crr-") for r in listed["Repositories"])
        got = _rpc(acr, "GetRepository", RepoNamespaceName="alice-ns", RepoName="two").json()
        assert got["RepoId"] == listed["Repositories"][1]["RepoId"]
        assert (got["RepoName"], got["IsSuccess"]) == ("two", True)


def test_delete_repo_tag_removes_exactly_one_tag(acr: AcrEmulator) -> None:
    image = _image(10)
    other = _image(11)
    push_image(acr, "alice-ns/app", "v1", image)
    push_image(acr, "alice-ns/app", "v2", image)  # same digest
    push_image(acr, "alice-ns/app", "other", other)
    assert _tags(acr, "alice-ns", "app") == [
        ("other", other.digest),
        ("v1", image.digest),
        ("v2", image.digest),
    ]
    assert sorted(list_tags(acr, "alice-ns/app")) == ["other", "v1", "v2"]  # the registry has read them once
    _delete_tag(acr, "alice-ns", "app", "v1")
    # distribution reads tags from storage on every request: the running registry sees the removal
    assert _tags(acr, "alice-ns", "app") == [("other", other.digest), ("v2", image.digest)]
    assert sorted(list_tags(acr, "alice-ns/app")) == ["other", "v2"]
    assert sorted(list_tags(acr.registry, "alice-ns/app")) == ["other", "v2"]
    assert manifest_digest(acr, "alice-ns/app", "v2") == image.digest
    assert manifest_digest(acr, "alice-ns/app", image.digest) == image.digest
    with RegistryClient(acr) as alice:
        gone = alice.request("GET", "/v2/alice-ns/app/manifests/v1")
        assert gone.status_code == 404
        assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
