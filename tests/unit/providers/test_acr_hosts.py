"""What an ACR host name and auth challenge tell: edition, region, instance; AccessKey IDs."""

from __future__ import annotations

import pytest

from ferry.providers.acr.hosts import (
    AcrInstance,
    Edition,
    is_access_key_id,
    openapi_url,
    read_service,
    recognise_host,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("crpi-abc123xyz.cn-hangzhou.personal.cr.aliyuncs.com", AcrInstance(Edition.PERSONAL, "cn-hangzhou")),
        (
            "crpi-abc123xyz-vpc.cn-shanghai.personal.cr.aliyuncs.com",
            AcrInstance(Edition.PERSONAL, "cn-shanghai", vpc=True),
        ),
        ("registry.cn-beijing.aliyuncs.com", AcrInstance(Edition.PERSONAL, "cn-beijing")),
        ("registry-vpc.cn-beijing.aliyuncs.com", AcrInstance(Edition.PERSONAL, "cn-beijing", vpc=True)),
        ("registry-internal.cn-beijing.aliyuncs.com", AcrInstance(Edition.PERSONAL, "cn-beijing", vpc=True)),
        ("registry-intl.ap-southeast-1.aliyuncs.com", AcrInstance(Edition.PERSONAL, "ap-southeast-1")),
        ("lgy-registry.cn-hangzhou.cr.aliyuncs.com", AcrInstance(Edition.ENTERPRISE, "cn-hangzhou")),
        (
            "lgy-registry-vpc.cn-hangzhou.cr.aliyuncs.com",
            AcrInstance(Edition.ENTERPRISE, "cn-hangzhou", vpc=True),
        ),
        ("LGY-Registry.CN-Hangzhou.cr.aliyuncs.com:443", AcrInstance(Edition.ENTERPRISE, "cn-hangzhou")),
    ],
)
def test_acr_hosts_say_edition_and_region(host: str, expected: AcrInstance) -> None:
    assert recognise_host(host) == expected


@pytest.mark.parametrize(
    "host", ["harbor.example.com", "cr.cn-hangzhou.aliyuncs.com", "registry.example.com", "127.0.0.1:5000"]
)
def test_other_hosts_are_not_acr(host: str) -> None:
    assert recognise_host(host) is None


def test_the_challenge_service_tells_personal_from_enterprise() -> None:
    assert read_service("registry.aliyuncs.com:cn-hangzhou:26842") == AcrInstance(
        Edition.PERSONAL, "cn-hangzhou"
    )
    assert read_service("registry.aliyuncs.com:cn-shanghai:china:cri-0123abcd") == AcrInstance(
        Edition.ENTERPRISE, "cn-shanghai", "cri-0123abcd"
    )
    assert read_service("harbor-registry") is None
    assert read_service(None) is None


def test_gaps_are_filled_from_another_description() -> None:
    from_host = AcrInstance(Edition.ENTERPRISE, "cn-hangzhou")
    from_challenge = AcrInstance(Edition.ENTERPRISE, "cn-hangzhou", "cri-0123abcd")
    assert from_host.merged(from_challenge).instance_id == "cri-0123abcd"
    assert AcrInstance(region="eu-central-1").merged(None) == AcrInstance(region="eu-central-1")


def test_openapi_endpoints_follow_the_region() -> None:
    assert openapi_url("cn-hangzhou") == "https://cr.cn-hangzhou.aliyuncs.com"
    assert openapi_url("cn-hangzhou", vpc=True) == "https://cr-vpc.cn-hangzhou.aliyuncs.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LTAI5tQbXyZ12345abcdEFGH", True),
        ("STS.NUgYrLnoC37mZZCNnAbez2Fh", True),
        ("lgy@example.com", False),
        ("lgy", False),
        ("user@1234567890.onaliyun.com", False),
        ("LTAI", False),
    ],
)
def test_access_key_ids_are_told_from_account_names(text: str, expected: bool) -> None:
    assert is_access_key_id(text) is expected


def test_copies_to_an_acr_host_follow_acrs_content_rules() -> None:
    from ferry.providers import content_rules_for_host

    rules = content_rules_for_host("crpi-abc123xyz.cn-hangzhou.personal.cr.aliyuncs.com")
    assert rules.refuse_empty_config
    assert rules.drop_attestations
    assert not content_rules_for_host("127.0.0.1:5000").active
