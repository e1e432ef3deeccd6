from __future__ import annotations

import pytest

from ferry.errors import InvalidInput
from ferry.oci.digest import Digest
from ferry.oci.reference import ImageReference, RegistryLocation

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("127.0.0.1:5000/library/app:v1", "127.0.0.1:5000", "library/app", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("registry.example.com/ns/app", "registry.example.com", "ns/app", "latest", None),
        ("nginx", "docker.io", "library/nginx", "latest", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("index.docker.io/library/alpine:3", "docker.io", "library/alpine", "3", None),
        (f"127.0.0.1:5000/a/b/c@{DIGEST}", "127.0.0.1:5000", "a/b/c", None, DIGEST),
        (f"host.io/app:v1@{DIGEST}", "host.io", "app", "v1", DIGEST),
        ("docker://host.io:443/app:1.0", "host.io:443", "app", "1.0", None),
        (
            "crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com/lgy-images/app:prod-1",
            "crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com",
            "lgy-images/app",
            "prod-1",
            None,
        ),
    ],
)
def test_parse_splits_registry_repository_tag_and_digest(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = ImageReference.parse(text)
    assert reference.registry == registry
    assert reference.repository == repository
    assert reference.tag == tag
    assert reference.digest == (Digest.parse(digest) if digest else None)


def test_reference_prefers_digest_over_tag_when_fetching() -> None:
    reference = ImageReference.parse(f"host.io/app:v1@{DIGEST}")
    assert reference.reference == DIGEST


@pytest.mark.parametrize(
    "text",
    [
        "",
        "host.io/App:v1",
        "host.io/app:-bad",
        "host.io/app@sha256:short",
        "host.io/a//b",
        "host.io/app:" + "x" * 129,
    ],
)
def test_parse_rejects_invalid_references_with_a_hint(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ImageReference.parse(text)
    assert raised.value.hint


def test_location_parses_host_port_and_namespace() -> None:
    location = RegistryLocation.parse("127.0.0.1:5001/library")
    assert (location.registry, location.namespace) == ("127.0.0.1:5001", "library")
    assert RegistryLocation.parse("harbor.local").namespace == ""
    assert RegistryLocation.parse("https://harbor.local/a/b/").namespace == "a/b"


def test_destination_location_requires_a_namespace() -> None:
    with pytest.raises(InvalidInput, match="no namespace") as raised:
        RegistryLocation.parse("127.0.0.1:5002", require_namespace=True)
    assert raised.value.hint is not None
    assert "lgy-images" in raised.value.hint


def test_location_rejects_bad_namespace() -> None:
    with pytest.raises(InvalidInput, match="invalid namespace"):
        RegistryLocation.parse("host.io/Bad_Namespace")
