"""Who may call the API: HTTP Basic for ``admin``, API tokens, the sign-in throttle, and the two
routes that need no sign-in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from ferry.auth.authenticator import ADMIN, ensure_admin
from ferry.auth.passwords import verify_password
from ferry.errors import InvalidInput
from ferry.store import Store
from tests.api.conftest import (
    ADMIN_PASSWORD,
    API,
    BOTH_DATABASES,
    Ferry,
    error_message,
    get_json,
)

REALM = 'Basic realm="ferry"'


def assert_unauthorized(response: httpx.Response) -> str:
    message = error_message(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == REALM
    return message


async def test_a_request_without_credentials_gets_401_with_a_basic_challenge(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get(f"{API}/registries")
    message = assert_unauthorized(response)
    assert "authentication required" in message


@BOTH_DATABASES
async def test_the_admin_password_signs_in_and_a_wrong_one_is_refused(ferry: Ferry) -> None:
    async with ferry.client(auth=("admin", ADMIN_PASSWORD)) as signed_in:
        response = await signed_in.get(f"{API}/registries")
        assert response.status_code == 200
        assert response.json() == []
    async with ferry.client(auth=("admin", "not-the-password")) as wrong:
        assert "invalid user name, password or token" in assert_unauthorized(
            await wrong.get(f"{API}/registries")
        )
    async with ferry.client(auth=("root", ADMIN_PASSWORD)) as other_user:
        assert_unauthorized(await other_user.get(f"{API}/registries"))


async def test_credentials_that_are_not_basic_or_not_base64_are_refused(ferry: Ferry) -> None:
    for header in ("Digest abc", "Basic !!!not-base64!!!", "Basic YWRtaW4="):  # the last lacks ":"
        async with ferry.client(headers={"Authorization": header}) as client:
            assert_unauthorized(await client.get(f"{API}/registries"))


async def test_repeated_failures_are_throttled_with_429_and_retry_after(ferry: Ferry) -> None:
    free = ferry.throttle.free_attempts
    async with ferry.client(auth=("admin", "guess")) as guessing:
        for _ in range(free):
            assert_unauthorized(await guessing.get(f"{API}/registries"))
        throttled = await guessing.get(f"{API}/registries")
    message = error_message(throttled, 429, "TOO_MANY_REQUESTS")
    assert "too many failed sign-ins" in message
    retry_after = int(throttled.headers["retry-after"])
    assert retry_after == 1  # the first pause is one second, and the header says so

    # while blocked, even the right password waits: a guesser cannot tell it was right
    async with ferry.client(auth=("admin", ADMIN_PASSWORD)) as admin:
        assert (await admin.get(f"{API}/registries")).status_code == 429
        ferry.monotonic.advance(retry_after)
        assert (await admin.get(f"{API}/registries")).status_code == 200

    # the success reset the count: the next failures get the free attempts again
    async with ferry.client(auth=("admin", "guess")) as guessing:
        for _ in range(free):
            assert_unauthorized(await guessing.get(f"{API}/registries"))


async def test_the_throttle_holds_back_only_the_guessing_address(ferry: Ferry) -> None:
    async with ferry.client(auth=("admin", "guess")) as guessing:
        for _ in range(ferry.throttle.free_attempts):
            assert_unauthorized(await guessing.get(f"{API}/registries"))
        assert (await guessing.get(f"{API}/registries")).status_code == 429
    async with ferry.client(auth=("admin", ADMIN_PASSWORD), address="198.51.100.20") as elsewhere:
        assert (await elsewhere.get(f"{API}/registries")).status_code == 200


async def test_each_further_failure_doubles_the_pause(ferry: Ferry) -> None:
    async with ferry.client(auth=("admin", "guess")) as guessing:
        for _ in range(ferry.throttle.free_attempts):
            await guessing.get(f"{API}/registries")
        first = int((await guessing.get(f"{API}/registries")).headers["retry-after"])
        ferry.monotonic.advance(first)
        assert_unauthorized(await guessing.get(f"{API}/registries"))
        second = int((await guessing.get(f"{API}/registries")).headers["retry-after"])
    assert (first, second) == (1, 2)


@BOTH_DATABASES
async def test_the_admin_password_is_stored_as_a_salted_scrypt_hash(store: Store) -> None:
    assert await ensure_admin(store.accounts, password=ADMIN_PASSWORD, now=datetime.now(UTC)) is None
    stored = await store.accounts.find_password_hash(ADMIN)
    assert stored is not None
    assert ADMIN_PASSWORD not in stored
    assert stored.startswith("scrypt$")
    assert verify_password(ADMIN_PASSWORD, stored)
    assert not verify_password(ADMIN_PASSWORD + "x", stored)
    # salted: the same password set again hashes differently
    await store.accounts.set_password_hash(ADMIN, "placeholder", now=datetime.now(UTC))
    await ensure_admin(store.accounts, password=ADMIN_PASSWORD, now=datetime.now(UTC))
    again = await store.accounts.find_password_hash(ADMIN)
    assert again is not None
    assert again != stored
    assert verify_password(ADMIN_PASSWORD, again)


async def test_the_password_ensure_admin_stores_signs_in(ferry: Ferry) -> None:
    await ensure_admin(ferry.store.accounts, password="set-by-the-environment", now=datetime.now(UTC))
    async with ferry.client(auth=("admin", "set-by-the-environment")) as client:
        assert (await client.get(f"{API}/registries")).status_code == 200
    async with ferry.client(auth=("admin", ADMIN_PASSWORD)) as old:
        assert_unauthorized(await old.get(f"{API}/registries"))


async def test_a_password_is_generated_on_the_first_start_only(store: Store) -> None:
    generated = await ensure_admin(store.accounts, password=None, now=datetime.now(UTC))
    assert generated is not None
    assert len(generated) >= 16
    stored = await store.accounts.find_password_hash(ADMIN)
    assert stored is not None
    assert generated not in stored
    assert verify_password(generated, stored)
    # the second start neither generates nor reveals anything, and keeps the password
    assert await ensure_admin(store.accounts, password=None, now=datetime.now(UTC)) is None
    assert await store.accounts.find_password_hash(ADMIN) == stored


async def test_ferry_admin_password_replaces_the_generated_one(store: Store) -> None:
    generated = await ensure_admin(store.accounts, password=None, now=datetime.now(UTC))
    assert generated is not None
    assert await ensure_admin(store.accounts, password="a-chosen-password", now=datetime.now(UTC)) is None
    stored = await store.accounts.find_password_hash(ADMIN)
    assert stored is not None
    assert verify_password("a-chosen-password", stored)
    assert not verify_password(generated, stored)
    # given again unchanged, it is not re-hashed
    await ensure_admin(store.accounts, password="a-chosen-password", now=datetime.now(UTC))
    assert await store.accounts.find_password_hash(ADMIN) == stored


async def test_a_too_short_admin_password_is_refused_with_a_clear_message(store: Store) -> None:
    with pytest.raises(InvalidInput) as caught:
        await ensure_admin(store.accounts, password="short", now=datetime.now(UTC))
    assert "5 characters; at least 8 are needed" in str(caught.value)
    assert "FERRY_ADMIN_PASSWORD" in str(caught.value)
    assert await store.accounts.find_password_hash(ADMIN) is None


@BOTH_DATABASES
async def test_an_api_token_is_shown_once_and_works_as_basic_password_and_bearer(
    ferry: Ferry, api: httpx.AsyncClient
) -> None:
    response = await api.post(f"{API}/tokens", json={"name": "ci"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "name", "token"}
    assert created["name"] == "ci"
    assert response.headers["location"] == f"{API}/tokens/{created['id']}"
    token: str = created["token"]
    assert token.startswith("fry_")

    async with ferry.client(auth=("ci", token)) as as_basic:
        assert (await as_basic.get(f"{API}/replication/policies")).status_code == 200
    async with ferry.client(headers={"Authorization": f"Bearer {token}"}) as as_bearer:
        assert (await as_bearer.get(f"{API}/registries")).status_code == 200

    listed = await api.get(f"{API}/tokens")
    assert listed.status_code == 200
    assert token not in listed.text
    (shown,) = listed.json()
    assert set(shown) == {"id", "name", "creation_time", "last_used_time"}
    assert shown["id"] == created["id"]
    assert shown["name"] == "ci"
    assert shown["last_used_time"] is not None  # it was just used


async def test_only_the_sha256_of_a_token_is_stored(ferry: Ferry, api: httpx.AsyncClient) -> None:
    token = (await api.post(f"{API}/tokens", json={"name": "ci"})).json()["token"]
    async with ferry.store.database.session() as session:
        rows = (await session.execute(text("SELECT * FROM api_tokens"))).all()
    (row,) = rows
    values = [str(value) for value in row]
    assert hashlib.sha256(token.encode()).hexdigest() in values
    assert not any(token in value or token.removeprefix("fry_") in value for value in values)


async def test_a_revoked_token_no_longer_signs_in(ferry: Ferry, api: httpx.AsyncClient) -> None:
    created = (await api.post(f"{API}/tokens", json={"name": "ci"})).json()
    revoked = await api.delete(f"{API}/tokens/{created['id']}")
    assert revoked.status_code == 200
    async with ferry.client(auth=("ci", created["token"])) as client:
        assert_unauthorized(await client.get(f"{API}/registries"))
    assert await get_json(api, "/tokens") == []
    error_message(await api.delete(f"{API}/tokens/{created['id']}"), 404, "NOT_FOUND")


async def test_a_token_cannot_manage_other_tokens_but_may_revoke_itself(
    ferry: Ferry, api: httpx.AsyncClient
) -> None:
    mine = (await api.post(f"{API}/tokens", json={"name": "ci"})).json()
    other = (await api.post(f"{API}/tokens", json={"name": "deploy"})).json()
    async with ferry.client(auth=("ci", mine["token"])) as client:
        for response in (
            await client.post(f"{API}/tokens", json={"name": "escalated"}),
            await client.get(f"{API}/tokens"),
            await client.delete(f"{API}/tokens/{other['id']}"),
        ):
            assert "only admin manages API tokens" in error_message(response, 403, "FORBIDDEN")
        assert [item["name"] for item in await get_json(api, "/tokens")] == ["ci", "deploy"]
        assert (await client.delete(f"{API}/tokens/{mine['id']}")).status_code == 200
        assert_unauthorized(await client.get(f"{API}/tokens"))
    assert [item["name"] for item in await get_json(api, "/tokens")] == ["deploy"]


async def test_token_names_are_checked_and_unique(api: httpx.AsyncClient) -> None:
    assert (await api.post(f"{API}/tokens", json={"name": "ci"})).status_code == 201
    assert "'ci' already exists" in error_message(
        await api.post(f"{API}/tokens", json={"name": "ci"}), 409, "CONFLICT"
    )
    assert "name" in error_message(await api.post(f"{API}/tokens", json={"name": ""}), 400, "BAD_REQUEST")
    assert "name: field required" in error_message(
        await api.post(f"{API}/tokens", json={}), 400, "BAD_REQUEST"
    )


async def test_an_unknown_token_is_refused(ferry: Ferry) -> None:
    async with ferry.client(headers={"Authorization": "Bearer fry_made-up"}) as client:
        assert_unauthorized(await client.get(f"{API}/registries"))


async def test_health_and_ping_need_no_sign_in(anonymous: httpx.AsyncClient) -> None:
    health = await anonymous.get(f"{API}/health")
    assert health.status_code == 200
    assert health.json() == {
        "status": "healthy",
        "components": [
            {"name": "core", "status": "healthy"},
            {"name": "database", "status": "healthy"},
            {"name": "registry", "status": "healthy"},
        ],
    }
    ping = await anonymous.get(f"{API}/ping")
    assert ping.status_code == 200
    assert ping.text == "Pong"
    assert ping.headers["content-type"].startswith("text/plain")


async def test_every_other_route_requires_sign_in(ferry: Ferry, anonymous: httpx.AsyncClient) -> None:
    open_paths = {f"{API}/health", f"{API}/ping"}
    checked = 0
    for path, operations in ferry.app.openapi()["paths"].items():
        if path in open_paths:
            continue
        concrete = path.replace("{id}", "1").replace("{task_id}", "1")
        for method in operations:
            response = await anonymous.request(method.upper(), concrete)
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
            assert response.headers["www-authenticate"] == REALM
            checked += 1
    assert checked >= 20


async def test_a_body_that_is_not_json_still_gets_401_before_sign_in(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    headers = {"Content-Type": "application/json"}
    assert_unauthorized(await anonymous.post(f"{API}/registries", content=b"{", headers=headers))
    assert_unauthorized(await anonymous.put(f"{API}/replication/policies/1", content=b"[", headers=headers))
    # signed in, the same body is a 400 about the body
    message = error_message(
        await api.post(f"{API}/registries", content=b"{", headers=headers), 400, "BAD_REQUEST"
    )
    assert message.startswith("request body: the body is not valid JSON")
