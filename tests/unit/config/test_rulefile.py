from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ferry.config.rulefile import parse_rule_file
from ferry.errors import InvalidInput
from ferry.replication.domain.policy import Decoration, Filter, FilterType
from ferry.replication.domain.registry import CredentialType, ProviderSettings, RegistryType
from ferry.replication.domain.status import TriggerType

NOW = datetime(2026, 11, 28, tzinfo=UTC)

GUIDE = """
local:
  url: http://127.0.0.1:5000
registries:
  - name: aliyun
    type: docker-registry
    url: https://crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com
    credential:
      access_key: my-account
      access_secret_env: ACR_PASSWORD
policies:
  - name: prod-to-acr
    src_registry: Local
    dest_registry: aliyun
    dest_namespace: nms4cloud
    dest_namespace_replace_count: 1
    filters:
      - {type: name, value: "**/nms4cloud-*"}
      - {type: tag, value: "prod-*, v*"}
      - {type: label, value: [production]}
    trigger: {type: scheduled, trigger_settings: {cron: "0 0 2 * * *"}}
    override: true
    replicate_deletion: true
    speed: 10240
"""


def parse(text: str, **environ: str):  # type: ignore[no-untyped-def]
    return parse_rule_file(text, base=Path("/nonexistent"), environ=environ, now=NOW)


def test_the_guides_rule_reads_with_harbors_field_names() -> None:
    rules = parse(GUIDE, ACR_PASSWORD="fixed-password")
    assert rules.local is not None
    assert rules.local.url == "http://127.0.0.1:5000"
    [registry] = rules.registries
    assert registry.type is RegistryType.DOCKER_REGISTRY
    assert registry.credential is not None
    assert registry.credential.type is CredentialType.BASIC
    assert (registry.credential.access_key, registry.credential.access_secret) == (
        "my-account",
        "fixed-password",
    )
    spec = rules.policy_named(None)
    assert (spec.src_registry, spec.dest_registry) == ("Local", "aliyun")
    policy = spec.policy
    assert policy.filters == (
        Filter(FilterType.NAME, "**/nms4cloud-*"),
        Filter(FilterType.TAG, "prod-*, v*"),
        Filter(FilterType.LABEL, ("production",)),
    )
    assert policy.trigger.type is TriggerType.SCHEDULED
    assert policy.trigger.cron == "0 0 2 * * *"
    assert policy.deletion
    assert policy.override
    assert policy.speed == 10240
    assert policy.dest_namespace_replace_count == 1


def test_a_missing_secret_variable_says_what_to_export() -> None:
    with pytest.raises(InvalidInput, match="ACR_PASSWORD is not set") as caught:
        parse(GUIDE)
    assert caught.value.hint == "export ACR_PASSWORD=... before running ferry"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy: {name: p, src_registry: Local, dest_registry: r}", "no `local:` section"),
        ("local: {url: 'http://h:5000'}\npolicy: {name: p, src_registry: Local, dest_registry: r}",
         "dest_registry 'r' is not declared"),
        ("local: {url: 'http://h:5000'}\nregistries: [{name: r, url: 'https://r'}]\n"
         "policy: {name: p, src_registry: Local, dest_registry: r, dest_namespace_replace_count: 200}",
         "dest_namespace_replace_count"),
        ("local: {url: 'http://h:5000'}\nregistries: [{name: r, url: 'https://r'}]\n"
         "policy: {name: p, src_registry: Local, dest_registry: r, override: 'yes'}",
         "override must be true or false"),
        ("local: {url: 'http://h:5000'}\nregistries: [{name: r, url: 'https://r', passwd: x}]\n"
         "policy: {name: p, src_registry: Local, dest_registry: r}",
         "registries[0]: unknown key(s) passwd"),
        ("local: {url: 'http://h:5000'}\nregistries: [{name: r, url: 'https://r'}]\n"
         "policy: {name: p, src_registry: Local, dest_registry: r, filters: [{type: size, value: x}]}",
         "unknown filter type 'size'"),
        ("registries: []", "declares no policy"),
    ],
)  # fmt: skip
def test_mistakes_name_the_key_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert message in str(caught.value)


def test_label_and_excludes_decorations_are_kept() -> None:
    text = (
        "local: {url: 'http://h:5000'}\nregistries: [{name: r, url: 'https://r'}]\n"
        "policy: {name: p, src_registry: Local, dest_registry: r, filters: "
        "[{type: label, value: 'tier=web, production', decoration: excludes}]}"
    )
    [label] = parse(text).policy_named("p").policy.filters
    assert label == Filter(FilterType.LABEL, ("tier=web", "production"), Decoration.EXCLUDES)


def test_choosing_among_several_policies_needs_a_name() -> None:
    text = (
        "local: {url: 'http://h:5000'}\nregistries: [{name: r, url: 'https://r'}]\n"
        "policies: [{name: a, src_registry: Local, dest_registry: r}, {name: b, src_registry: r, "
        "dest_registry: Local}]"
    )
    rules = parse(text)
    with pytest.raises(InvalidInput, match=r"2 policies \(a, b\)"):
        rules.policy_named(None)
    assert rules.policy_named("b").src_registry == "r"


def test_for_a_server_local_needs_no_section_and_policies_are_optional() -> None:
    text = (
        "registries: [{name: r, url: 'https://r'}]\npolicy: {name: p, src_registry: Local, dest_registry: r}"
    )

    rules = parse_rule_file(text, base=Path("."), environ={}, now=NOW, for_server=True)
    registries_only = parse_rule_file("registries: []", base=Path("."), environ={}, now=NOW, for_server=True)

    assert (rules.local, rules.policy_named("p").src_registry) == (None, "Local")
    assert registries_only.policies == []


SETTINGS = """
registries:
  - name: aliyun-acr
    type: ali-acr
    url: https://crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com
    provider_settings:
{settings}
"""


def test_provider_settings_are_read_and_left_out_keys_are_the_providers_defaults() -> None:
    text = SETTINGS.format(
        settings="      region: cn-hangzhou\n      openapi_endpoint: HTTPS://CR-VPC.cn-hangzhou.aliyuncs.com/\n"
        "      create_namespace: true\n      drop_attestations: false\n      instance_id: null"
    )

    [registry] = parse_rule_file(text, base=Path("."), environ={}, now=NOW, for_server=True).registries
    [plain] = parse_rule_file(
        "registries: [{name: r, url: 'https://r'}]", base=Path("."), environ={}, now=NOW, for_server=True
    ).registries

    assert registry.settings == ProviderSettings(
        openapi_endpoint="https://cr-vpc.cn-hangzhou.aliyuncs.com",
        region="cn-hangzhou",
        create_namespace=True,
        drop_attestations=False,
    )
    assert plain.settings == ProviderSettings()


@pytest.mark.parametrize(
    ("settings", "message", "hint"),
    [
        ("      regoin: cn-hangzhou", "registries[0].provider_settings: unknown key(s) regoin",
         "known keys: create_namespace, drop_attestations, instance_id, openapi_endpoint, region"),
        ("      drop_attestations: 'no'",
         "registries[0].provider_settings.drop_attestations must be true or false",
         "write true or false without quotes"),
        ("      region: Hangzhou", "registries[0].provider_settings.region: 'Hangzhou' is not a region id",
         "e.g. cn-hangzhou"),
        ("      instance_id: [cri-abc123]", "registries[0].provider_settings.instance_id must be text",
         "quote"),
        ("      - region", "registries[0].provider_settings must be a mapping", "indentation"),
    ],
)  # fmt: skip
def test_provider_setting_mistakes_name_the_key(settings: str, message: str, hint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule_file(
            SETTINGS.format(settings=settings), base=Path("."), environ={}, now=NOW, for_server=True
        )

    assert message in str(caught.value)
    assert hint in str(caught.value.hint)


def test_the_local_registry_takes_no_provider_settings() -> None:
    text = "local: {url: 'http://h:5000', provider_settings: {region: cn-hangzhou}}\nregistries: []"

    with pytest.raises(InvalidInput, match=r"local: unknown key\(s\) provider_settings"):
        parse_rule_file(text, base=Path("."), environ={}, now=NOW, for_server=True)


def test_the_aliyun_guide_example_reads_and_its_commented_provider_settings_too() -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "aliyun-guide.yaml"
    text = example.read_text()
    uncommented = re.sub(r"^    # (provider_settings:|  \w+: )", r"    \1", text, flags=re.MULTILINE)

    [as_written] = parse_rule_file(
        text, base=example.parent, environ={"ACR_PASSWORD": "x"}, now=NOW, for_server=True
    ).registries
    [with_settings] = parse_rule_file(
        uncommented, base=example.parent, environ={"ACR_PASSWORD": "x"}, now=NOW, for_server=True
    ).registries

    assert uncommented.count("\n    provider_settings:\n") == 1
    assert as_written.settings == ProviderSettings()
    assert with_settings.settings == ProviderSettings(
        openapi_endpoint="https://cr-vpc.cn-hangzhou.aliyuncs.com",
        region="cn-hangzhou",
        create_namespace=True,
        drop_attestations=False,
    )
