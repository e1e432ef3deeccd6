"""`ferry apply`'s plan: create, update with the changed fields, unchanged, delete; by name."""

from __future__ import annotations

import pytest

from ferry.errors import InvalidInput
from ferry.remote.apply import Action, Change, Kind, plan_apply
from ferry.remote.bodies import registry_body, registry_update_body
from tests.unit.remote.state import rules, server_state

RULES = """
registries:
  - name: acr
    url: https://crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com
    credential: {access_key: me@aliyun.com, access_secret_env: ACR_PASSWORD}
  - name: harbor-b
    type: harbor
    url: https://harbor-b.example.com
policies:
  - name: prod
    src_registry: Local
    dest_registry: acr
    dest_namespace: production
    filters:
      - {type: name, value: "**/nms4cloud-*"}
      - {type: tag, value: "prod-*, v[0-9]*"}
      - {type: label, value: [production]}
    trigger: {type: event_based}
  - name: nightly
    src_registry: harbor-b
    dest_registry: Local
    trigger: {type: scheduled, cron: "0 0 2 * * *", timezone: Asia/Shanghai}
    speed: 8000
"""
SECRET = {"ACR_PASSWORD": "fixed-password"}


def _by_name(changes: list[Change]) -> dict[str, Change]:
    return {change.name: change for change in changes}


def test_what_the_server_already_has_is_unchanged() -> None:
    applied = rules(RULES, **SECRET)

    plan = plan_apply(applied, *server_state(applied))

    assert [change.action for change in plan.changes] == [Action.UNCHANGED] * 4
    assert plan.pending == []


def test_an_empty_server_gets_everything_created_registries_first() -> None:
    plan = plan_apply(rules(RULES, **SECRET), [], [])

    assert [(change.kind, change.name, change.action) for change in plan.changes] == [
        (Kind.REGISTRY, "acr", Action.CREATE),
        (Kind.REGISTRY, "harbor-b", Action.CREATE),
        (Kind.POLICY, "prod", Action.CREATE),
        (Kind.POLICY, "nightly", Action.CREATE),
    ]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("dest_namespace: production", "dest_namespace: staging", "dest_namespace"),
        ('value: "prod-*, v[0-9]*"', 'value: "prod-*"', "filters"),
        ("trigger: {type: event_based}", "trigger: {type: manual}", "trigger"),
        ("dest_registry: acr", "dest_registry: harbor-b", "dest_registry"),
        ("speed: 8000", "speed: 0", "speed"),
        ("timezone: Asia/Shanghai}", "}", "trigger"),
        ("trigger: {type: event_based}", "trigger: {type: event_based, poll_interval: 60}", "trigger"),
    ],
)
def test_a_changed_policy_field_is_named_and_nothing_else_changes(old: str, new: str, field: str) -> None:
    stored = server_state(rules(RULES, **SECRET))

    plan = _by_name(plan_apply(rules(RULES.replace(old, new), **SECRET), *stored).changes)

    changed = [change for change in plan.values() if change.action is not Action.UNCHANGED]
    assert [(change.name, change.action, change.fields) for change in changed] == [
        (changed[0].name, Action.UPDATE, (field,))
    ]


def test_a_changed_registry_field_is_named() -> None:
    stored = server_state(rules(RULES, **SECRET))
    edited = RULES.replace("access_key: me@aliyun.com", "access_key: robot@aliyun.com")

    plan = _by_name(plan_apply(rules(edited, **SECRET), *stored).changes)

    assert plan["acr"].action is Action.UPDATE
    assert plan["acr"].fields == ("credential.access_key",)


def test_a_masked_secret_counts_as_unchanged_unless_secrets_are_to_be_updated() -> None:
    applied = rules(RULES, ACR_PASSWORD="rotated-password")
    stored = server_state(rules(RULES, **SECRET))

    kept = _by_name(plan_apply(applied, *stored).changes)
    sent = _by_name(plan_apply(applied, *stored, update_secrets=True).changes)

    assert kept["acr"].action is Action.UNCHANGED
    assert sent["acr"].fields == ("credential.access_secret",)
    assert sent["harbor-b"].action is Action.UNCHANGED  # it has no secret to send


def test_a_secret_removed_from_the_file_is_a_change() -> None:
    stored = server_state(rules(RULES, **SECRET))
    edited = RULES.replace(", access_secret_env: ACR_PASSWORD", "")

    plan = _by_name(plan_apply(rules(edited), *stored).changes)

    assert plan["acr"].fields == ("credential.access_secret",)


def test_a_registry_type_cannot_change_and_the_error_says_what_to_do() -> None:
    stored = server_state(rules(RULES, **SECRET))
    edited = RULES.replace("type: harbor", "type: docker-registry")

    with pytest.raises(InvalidInput, match=r"harbor-b.*cannot be changed") as caught:
        plan_apply(rules(edited, **SECRET), *stored)

    assert "ferry registry delete harbor-b" in str(caught.value.hint)


def test_prune_deletes_what_the_file_dropped_policies_before_registries() -> None:
    stored = server_state(rules(RULES, **SECRET))
    only_acr = """
registries:
  - {name: acr, url: "https://crpi-abc.cn-hangzhou.personal.cr.aliyuncs.com",
     credential: {access_key: me@aliyun.com, access_secret_env: ACR_PASSWORD}}
policies:
  - {name: prod, src_registry: Local, dest_registry: acr, dest_namespace: production,
     filters: [{type: name, value: "**/nms4cloud-*"}, {type: tag, value: "prod-*, v[0-9]*"},
               {type: label, value: [production]}],
     trigger: {type: event_based}}
"""

    kept = plan_apply(rules(only_acr, **SECRET), *stored)
    pruned = plan_apply(rules(only_acr, **SECRET), *stored, prune=True)

    assert kept.pending == []
    assert [(change.kind, change.name, change.action) for change in pruned.pending] == [
        (Kind.POLICY, "nightly", Action.DELETE),
        (Kind.REGISTRY, "harbor-b", Action.DELETE),
    ]


ACR_SETTINGS = "    provider_settings: {region: cn-hangzhou, drop_attestations: false}\n"
WITH_SETTINGS = RULES.replace("  - name: harbor-b\n", ACR_SETTINGS + "  - name: harbor-b\n")


@pytest.mark.parametrize(
    ("before", "after", "fields"),
    [
        (RULES, WITH_SETTINGS, ("provider_settings.region", "provider_settings.drop_attestations")),
        (WITH_SETTINGS, RULES, ("provider_settings.region", "provider_settings.drop_attestations")),
        (WITH_SETTINGS, WITH_SETTINGS.replace("drop_attestations: false", "drop_attestations: true"),
         ("provider_settings.drop_attestations",)),
        (WITH_SETTINGS, WITH_SETTINGS.replace("drop_attestations: false", "drop_attestations: null"),
         ("provider_settings.drop_attestations",)),
    ],
)  # fmt: skip
def test_a_changed_provider_setting_is_named(before: str, after: str, fields: tuple[str, ...]) -> None:
    stored = server_state(rules(before, **SECRET))

    plan = _by_name(plan_apply(rules(after, **SECRET), *stored).changes)

    assert (plan["acr"].action, plan["acr"].fields) == (Action.UPDATE, fields)
    assert plan["harbor-b"].action is Action.UNCHANGED


def test_provider_settings_as_the_server_has_them_are_unchanged_and_null_is_a_key_left_out() -> None:
    stored = server_state(rules(WITH_SETTINGS, **SECRET))
    spelled_out = WITH_SETTINGS.replace(
        "drop_attestations: false}",
        "drop_attestations: false, create_namespace: null, openapi_endpoint: null}",
    )

    plan = plan_apply(rules(spelled_out, **SECRET), *stored)

    assert plan.pending == []


def test_provider_settings_are_sent_on_create_when_set_and_always_on_update() -> None:
    applied = rules(WITH_SETTINGS, **SECRET)
    acr, harbor = applied.registries

    assert registry_body(acr)["provider_settings"] == {"region": "cn-hangzhou", "drop_attestations": False}
    assert "provider_settings" not in registry_body(harbor)
    assert registry_update_body(acr)["provider_settings"] == {
        "region": "cn-hangzhou",
        "drop_attestations": False,
    }
    assert registry_update_body(harbor)["provider_settings"] == {}  # the server's go back to the defaults
