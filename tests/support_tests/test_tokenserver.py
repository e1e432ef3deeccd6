"""The token server's JWTs are accepted by a real distribution 2.8 registry."""

from __future__ import annotations

import httpx
import pytest

from tests.support.blobs import BlobSpec
from tests.support.client import RegistryClient, blob_exists, get_blob
from tests.support.images import push_blob
from tests.support.registry import RegistryServer, start_registry
from tests.support.tokenserver import TokenServer


def _token(server: TokenServer, scope: str, auth: tuple[str, str] | None) -> httpx.Response:
    return httpx.get(server.realm, params={"service": server.service, "scope": scope}, auth=auth)


def test_push_blob_through_the_token_flow(token_registry: RegistryServer, token_server: TokenServer) -> None:
    blob = BlobSpec(4096, seed=7)
    with RegistryClient(token_registry) as client:
        push_blob(client, "team/app", blob)
        assert get_blob(client, "team/app", blob.digest) == blob.read()
    # One token for HEAD (pull), one for the upload (pull+push), then cached.  distribution
    # lists the actions in random (Go map) order, which count_for_scope ignores.
    assert token_server.request_count == 2
    assert token_server.count_for_scope("repository:team/app:pull") == 1
    assert token_server.count_for_scope("repository:team/app:push,pull") == 1
    assert all(r.account == token_server.username and r.status == 200 for r in token_server.requests)


def test_raw_token_request_and_response_fields(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    resp = _token(token_server, "repository:a/b:pull", (token_server.username, token_server.password))
    body = resp.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert body["issued_at"].endswith("Z")
    catalog = httpx.get(
        f"{token_registry.url}/v2/_catalog", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert catalog.status_code == 401  # the token only grants a/b:pull, not registry:catalog:*


@pytest.mark.parametrize("field", ["token", "access_token"])
def test_single_field_responses(token_server: TokenServer, field: str) -> None:
    token_server.field = field  # type: ignore[assignment]
    body = _token(token_server, "repository:a/b:pull", (token_server.username, token_server.password)).json()
    assert set(body) == {field, "expires_in", "issued_at"}


def test_bad_password_and_anonymous(token_server: TokenServer) -> None:
    assert _token(token_server, "repository:a/b:pull", (token_server.username, "nope")).status_code == 401
    assert _token(token_server, "repository:a/b:pull", None).status_code == 401
    token_server.anonymous_pull = True
    assert _token(token_server, "repository:a/b:pull,push", None).status_code == 200
    assert token_server.requests[-1].granted == ("repository:a/b:pull",)
    assert [r.status for r in token_server.requests] == [401, 401, 200]


def test_anonymous_pull_token_is_accepted_and_cannot_push(tmp_path_factory: pytest.TempPathFactory) -> None:
    with TokenServer(tmp_path_factory.mktemp("ts"), anonymous_pull=True) as ts:
        server = start_registry(tmp_path_factory.mktemp("reg"), auth="token", token_server=ts)
        try:
            blob = BlobSpec(100, seed=1)
            push_blob(server, "pub/app", blob)
            with RegistryClient(server, anonymous=True) as anon:
                assert blob_exists(anon, "pub/app", blob.digest)
                assert anon.request("POST", "/v2/pub/app/blobs/uploads/").status_code == 401
        finally:
            server.stop()


def test_expired_jwt_is_rejected_by_the_registry(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    token_server.jwt_lifetime = -120  # beyond distribution's 60 s leeway
    token = _token(token_server, "repository:a/b:pull", (token_server.username, token_server.password)).json()
    resp = httpx.get(
        f"{token_registry.url}/v2/a/b/tags/list", headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert resp.status_code == 401
    token_server.jwt_lifetime = 2
    token = _token(token_server, "repository:a/b:pull", (token_server.username, token_server.password)).json()
    resp = httpx.get(
        f"{token_registry.url}/v2/a/b/tags/list", headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert resp.status_code == 404  # accepted (the repository simply does not exist)


def test_counters_reset(token_server: TokenServer) -> None:
    _token(token_server, "repository:x:pull", (token_server.username, token_server.password))
    assert token_server.request_count == 1
    token_server.reset_counters()
    assert token_server.request_count == 0
