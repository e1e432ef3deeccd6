"""Basic auth, Bearer tokens and TLS against real registries; secrets never appear in messages."""

from __future__ import annotations

import asyncio

import pytest

from ferry.distribution.client import RegistryClient
from ferry.distribution.options import Credentials
from ferry.errors import Unauthorized, Unavailable
from ferry.replication.engine.copier import CopyItem
from ferry.replication.engine.progress import ImageOutcome
from tests.integration.harness import Harness, copy_images, options_for, ref
from tests.support.blobs import BlobSpec
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest
from tests.support.tokenserver import TokenServer


async def test_copy_into_a_basic_auth_registry(
    registry: RegistryServer, basic_registry: RegistryServer
) -> None:
    image = build_image([BlobSpec(20_000, seed=1)])
    push_image(registry, "library/app", "v1", image)

    results, _ = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(basic_registry, "ns/app:v1"))],
        registry,
        basic_registry,
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(basic_registry, "ns/app", "v1") == image.digest


async def test_wrong_password_fails_with_unauthorized_and_no_secret(
    registry: RegistryServer, basic_registry: RegistryServer
) -> None:
    push_image(registry, "library/app", "v1", build_image([BlobSpec(1000, seed=2)]))
    secret = "not-the-password-3f9a"
    wrong = options_for(basic_registry, credentials=Credentials(basic_registry.username or "", secret))
    harness = Harness(registry, basic_registry, client_options={basic_registry.host: wrong})

    results = await harness.copy(
        [CopyItem(ref(registry, "library/app:v1"), ref(basic_registry, "ns/app:v1"))]
    )

    assert results[0].outcome is ImageOutcome.FAILED
    assert "HTTP 401" in results[0].message
    assert secret not in results[0].message
    assert secret not in " ".join(harness.recorder.log)


async def test_ping_reports_unauthorized_with_a_hint(basic_registry: RegistryServer) -> None:
    options = options_for(basic_registry, credentials=Credentials("nobody", "wrong"))
    async with RegistryClient(basic_registry.host, options) as client:
        with pytest.raises(Unauthorized) as raised:
            await client.ping()
    assert raised.value.hint is not None
    assert "wrong" not in str(raised.value)


async def test_tls_registry_with_its_ca(registry: RegistryServer, tls_registry: RegistryServer) -> None:
    image = build_image([BlobSpec(30_000, seed=3)])
    push_image(registry, "library/app", "v1", image)

    results, _ = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(tls_registry, "ns/app:v1"))], registry, tls_registry
    )

    assert results[0].outcome is ImageOutcome.COPIED
    assert inspect_raw_digest(tls_registry, "ns/app", "v1") == image.digest


async def test_tls_without_the_ca_is_refused_with_a_hint(tls_registry: RegistryServer) -> None:
    options = options_for(tls_registry, ca_file=None)
    async with RegistryClient(tls_registry.host, options) as client:
        with pytest.raises(Unavailable, match="certificate verification failed") as raised:
            await client.ping()
    assert raised.value.hint is not None
    assert "--dest-ca" in raised.value.hint


async def test_insecure_skips_verification_for_that_registry_only(tls_registry: RegistryServer) -> None:
    options = options_for(tls_registry, ca_file=None, insecure=True)
    async with RegistryClient(tls_registry.host, options) as client:
        result = await client.ping()
    assert result.url.startswith("https://")


async def test_loopback_tls_is_detected_without_being_told(tls_registry: RegistryServer) -> None:
    options = options_for(tls_registry, plain_http=None)
    async with RegistryClient(tls_registry.host, options) as client:
        assert (await client.ping()).url == f"https://{tls_registry.host}"


async def test_loopback_plain_http_is_detected_without_being_told(registry: RegistryServer) -> None:
    async with RegistryClient(registry.host) as client:
        assert (await client.ping()).url == f"http://{registry.host}"


async def test_bearer_tokens_are_cached_per_scope(
    registry: RegistryServer, token_registry: RegistryServer, token_server: TokenServer
) -> None:
    images = {
        f"app{n}": build_image([BlobSpec(10_000, seed=40), BlobSpec(5_000, seed=41 + n)]) for n in range(3)
    }
    for name, image in images.items():
        push_image(registry, f"library/{name}", "v1", image)
    before = len(token_server.requests)
    items = [
        CopyItem(ref(registry, f"library/{name}:v1"), ref(token_registry, f"ns/{name}:v1")) for name in images
    ]

    results, _ = await copy_images(items, registry, token_registry)

    # dozens of requests per repository, yet only a few token fetches for each (pull; pull+push; mount)
    fetched = len(token_server.requests) - before
    assert fetched <= 3 * len(images)
    assert {result.outcome for result in results} == {ImageOutcome.COPIED}
    for name, image in images.items():
        assert inspect_raw_digest(token_registry, f"ns/{name}", "v1") == image.digest


async def test_expired_tokens_are_renewed(
    registry: RegistryServer, token_server: TokenServer, token_registry: RegistryServer
) -> None:
    token_server.expires_in = 1  # ferry renews before expiry: every short-lived token is replaced
    image = build_image([BlobSpec(10_000, seed=50)])
    push_image(registry, "library/app", "v1", image)
    options = options_for(token_registry)
    async with RegistryClient(token_registry.host, options) as client:
        await client.ping()
        assert await client.head_manifest("ns/app", "v1") is None
        first = client.session.auth.token_requests
        await asyncio.sleep(1.0)  # let the one-second token lapse: expiry is what is under test
        assert await client.head_manifest("ns/app", "v1") is None
        assert client.session.auth.token_requests > first


@pytest.mark.parametrize("field", ["token", "access_token"])
async def test_either_token_field_is_accepted(
    registry: RegistryServer, token_server: TokenServer, token_registry: RegistryServer, field: str
) -> None:
    token_server.field = field  # type: ignore[assignment]
    image = build_image([BlobSpec(1_000, seed=60)])
    push_image(registry, "library/app", "v1", image)

    results, _ = await copy_images(
        [CopyItem(ref(registry, "library/app:v1"), ref(token_registry, "ns/app:v1"))],
        registry,
        token_registry,
    )

    assert results[0].outcome is ImageOutcome.COPIED


async def test_token_service_rejecting_credentials_is_unauthorized(token_registry: RegistryServer) -> None:
    options = options_for(token_registry, credentials=Credentials("tokenuser", "bad-secret-77"))
    async with RegistryClient(token_registry.host, options) as client:
        with pytest.raises(Unauthorized) as raised:
            await client.ping()
    assert "bad-secret-77" not in str(raised.value)
