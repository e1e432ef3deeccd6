from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import trustme

from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.registry import (
    LOCAL_REGISTRY_ID,
    LOCAL_REGISTRY_NAME,
    SECRET_MASK,
    Credential,
    CredentialType,
    PathDepth,
    Registry,
    RegistryStatus,
    RegistryType,
    check_ca_certificate,
    local_registry,
    normalize_url,
    path_depth,
    validate_registry,
)

from .builders import NOW

CA_PEM = trustme.CA().cert_pem.bytes().decode()


def make_registry(**fields: object) -> Registry:
    registry = Registry(
        id=3,
        name="aliyun",
        type=RegistryType.ALI_ACR,
        url="https://crpi-xxx.cn-hangzhou.personal.cr.aliyuncs.com",
        credential=Credential(access_key="lgy", access_secret="s3cret"),
        creation_time=NOW,
        update_time=NOW,
    )
    return replace(registry, **fields)  # type: ignore[arg-type]


def invalid(registry: Registry) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        validate_registry(registry)
    return caught.value


def test_provider_types_are_harbors_strings() -> None:
    assert [str(kind) for kind in RegistryType] == [
        "harbor",
        "docker-hub",
        "docker-registry",
        "huawei-SWR",
        "google-gcr",
        "aws-ecr",
        "azure-acr",
        "ali-acr",
        "jfrog-artifactory",
        "quay",
        "gitlab",
        "dtr",
        "tencent-tcr",
        "github-ghcr",
        "volcengine-cr",
    ]
    assert [str(kind) for kind in CredentialType] == ["basic", "oauth"]
    assert [str(status) for status in RegistryStatus] == ["healthy", "unhealthy", "unknown"]


def test_a_valid_registry_is_normalised() -> None:
    registry = validate_registry(
        make_registry(
            name="  aliyun  ", url=" HTTPS://CRPI-XXX.cn-hangzhou.aliyuncs.com/ ", description=" ACR "
        )
    )
    assert registry.name == "aliyun"
    assert registry.url == "https://crpi-xxx.cn-hangzhou.aliyuncs.com"
    assert registry.description == "ACR"
    assert registry.status is RegistryStatus.UNKNOWN
    assert not registry.is_local


def test_the_secret_never_appears_in_repr() -> None:
    registry = make_registry()
    assert "s3cret" not in repr(registry)
    assert "s3cret" not in repr(registry.credential)
    assert "lgy" in repr(registry.credential)


def test_masked_shows_harbors_stars_for_a_secret_and_nothing_for_none() -> None:
    assert make_registry().masked().credential == Credential(access_key="lgy", access_secret=SECRET_MASK)
    assert Credential(access_key="anon").masked().access_secret == ""
    assert make_registry(credential=None).masked().credential is None


def test_local_registry_is_id_zero_named_local() -> None:
    local = local_registry(type=RegistryType.DOCKER_REGISTRY, url="http://127.0.0.1:5000", now=NOW)
    assert (local.id, local.name) == (LOCAL_REGISTRY_ID, LOCAL_REGISTRY_NAME) == (0, "Local")
    assert local.is_local
    assert local.url == "http://127.0.0.1:5000"


def test_the_local_name_is_reserved() -> None:
    error = invalid(make_registry(name="Local"))
    assert error.field == "name"
    assert "reserved" in error.message


def test_id_zero_is_reserved_for_the_local_registry() -> None:
    assert invalid(make_registry(id=0)).field == "id"
    assert invalid(make_registry(id=-2)).field == "id"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 65, "two\nlines"])
def test_invalid_names_are_refused(bad: str) -> None:
    error = invalid(make_registry(name=bad))
    assert error.field == "name"
    assert error.hint


def test_a_64_character_name_is_accepted() -> None:
    assert validate_registry(make_registry(name="n" * 64)).name == "n" * 64


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://harbor.example.com", "https://harbor.example.com"),
        ("https://harbor.example.com/", "https://harbor.example.com"),
        ("HTTP://Registry.Local:5000", "http://registry.local:5000"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://[::1]:5443", "https://[::1]:5443"),
        ("https://localhost", "https://localhost"),
        ("https://registry-1.docker.io", "https://registry-1.docker.io"),
    ],
)
def test_urls_are_normalised(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem", "hint"),
    [
        ("", "must not be empty", "http(s)://host"),
        ("harbor.example.com", "does not start with http:// or https://", "https://harbor.example.com"),
        ("ftp://harbor.example.com", "does not start with http", "http(s)://host"),
        ("https://", "does not start with http", "http(s)://host"),
        ("https://bad_host", "no valid host name", "http(s)://host"),
        ("https://-bad.com", "no valid host name", "http(s)://host"),
        ("https://h.com:0", "invalid port", "1 to 65535"),
        ("https://h.com:99999", "invalid port", "1 to 65535"),
        ("https://h.com:", "invalid port", "1 to 65535"),
        ("https://h.com/v2/", "path, query or fragment", "https://h.com; ferry adds /v2/"),
        ("https://h.com/harbor/projects", "path, query or fragment", "base URL only"),
        ("https://h.com?x=1", "path, query or fragment", "base URL only"),
        ("https://h.com#top", "path, query or fragment", "base URL only"),
    ],
)
def test_bad_urls_name_the_field_and_the_fix(url: str, problem: str, hint: str) -> None:
    error = invalid(make_registry(url=url))
    assert error.field == "url"
    assert problem in error.message
    assert error.hint is not None
    assert hint in error.hint


@pytest.mark.parametrize(
    "url", ["https://admin:Harbor12345@h.com", "admin:Harbor12345@h.com", "//u:Harbor12345@h"]
)
def test_a_password_in_the_url_is_refused_without_echoing_it(url: str) -> None:
    error = invalid(make_registry(url=url))
    assert error.field == "url"
    assert "Harbor12345" not in str(error)
    assert "credential" in (error.hint or "")


def test_an_all_empty_credential_means_anonymous() -> None:
    assert validate_registry(make_registry(credential=Credential())).credential is None
    assert validate_registry(make_registry(credential=None)).credential is None


def test_basic_credential_needs_a_key() -> None:
    error = invalid(make_registry(credential=Credential(access_secret="pw")))
    assert error.field == "credential.access_key"
    assert "pw" not in str(error)


def test_oauth_credential_needs_a_token_but_no_key() -> None:
    token = Credential(type=CredentialType.OAUTH, access_secret="tok")
    assert validate_registry(make_registry(credential=token)).credential == token
    error = invalid(make_registry(credential=Credential(type=CredentialType.OAUTH, access_key="me")))
    assert error.field == "credential.access_secret"


def test_credential_key_is_trimmed() -> None:
    registry = validate_registry(make_registry(credential=Credential(access_key=" lgy ", access_secret="x")))
    assert registry.credential == Credential(access_key="lgy", access_secret="x")


def test_a_pem_ca_certificate_is_accepted_and_bundles_too() -> None:
    assert check_ca_certificate(f"\n  {CA_PEM}  \n") == CA_PEM.strip() + "\n"
    bundle = f"subject=CN=first\n{CA_PEM}\n{CA_PEM}"
    assert check_ca_certificate(bundle) == bundle.strip() + "\n"
    assert validate_registry(make_registry(ca_certificate=CA_PEM)).ca_certificate == CA_PEM.strip() + "\n"


@pytest.mark.parametrize("empty", [None, "", "  \n"])
def test_no_ca_certificate_is_none(empty: str | None) -> None:
    assert check_ca_certificate(empty) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not a certificate", "holds no PEM certificate"),
        (CA_PEM.replace("-----END CERTIFICATE-----", ""), "holds no PEM certificate"),
        (CA_PEM + "-----BEGIN CERTIFICATE-----\nMIIB\n", "without its END line"),
        ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----", "not valid base64 DER"),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(b"hello").decode()
            + "\n-----END CERTIFICATE-----",
            "not valid base64 DER",
        ),
    ],
)
def test_bad_ca_certificates_name_the_field(text: str, problem: str) -> None:
    error = invalid(make_registry(ca_certificate=text))
    assert error.field == "ca_certificate"
    assert problem in error.message
    assert "BEGIN CERTIFICATE" in (error.hint or "")


def test_a_private_key_is_refused_without_echoing_it() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvSECRETKEYDATA\n-----END PRIVATE KEY-----"
    error = invalid(make_registry(ca_certificate=CA_PEM + key))
    assert error.field == "ca_certificate"
    assert "SECRETKEYDATA" not in str(error)


def test_times_are_converted_to_utc_and_naive_times_refused() -> None:
    plus8 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    registry = validate_registry(make_registry(creation_time=plus8))
    assert registry.creation_time == NOW
    assert registry.creation_time.utcoffset() == timedelta(0)
    assert invalid(make_registry(update_time=datetime(2024, 5, 1))).field == "update_time"


def test_path_depth_rules_for_docker_hub_acr_and_harbor() -> None:
    assert path_depth(RegistryType.DOCKER_HUB) == PathDepth(exact=2)
    assert path_depth(RegistryType.ALI_ACR) == PathDepth(exact=2)
    assert path_depth(RegistryType.HARBOR) == PathDepth(minimum=2)
    assert path_depth(RegistryType.DOCKER_REGISTRY) is None


def test_unknown_enum_values_list_the_accepted_spellings() -> None:
    error = invalid(make_registry(type="harbour"))
    assert error.field == "type"
    assert error.message == "type: 'harbour' is not a registry type"
    assert "docker-hub" in (error.hint or "")
    error = invalid(make_registry(credential=Credential(type="token", access_key="k")))  # type: ignore[arg-type]
    assert error.field == "credential.type"
    assert "basic, oauth" in (error.hint or "")
