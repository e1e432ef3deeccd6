"""`ferry export`: a rule file `ferry apply` accepts, with no secret in it, stable across servers."""

from __future__ import annotations

import re

from ferry.remote.apply import Action, plan_apply
from ferry.remote.export import export_rule_file, secret_variable
from tests.unit.remote.state import rules, server_state
from tests.unit.remote.test_apply import RULES, SECRET, WITH_SETTINGS

CA = """-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGUgZm9yIHRlc3RzMAoGCCqGSM49BAMC
-----END CERTIFICATE-----"""


def test_an_exported_file_applied_to_the_same_server_changes_nothing() -> None:
    stored = server_state(rules(RULES, **SECRET))

    text = export_rule_file(*stored)
    variables = re.findall(r"^#\s+export (\w+)=", text, re.MULTILINE)
    plan = plan_apply(rules(text, **dict.fromkeys(variables, "any")), *stored)

    assert variables == ["FERRY_SECRET_ACR"]
    assert [change.action for change in plan.changes] == [Action.UNCHANGED] * 4


def test_exporting_what_an_export_created_gives_the_same_text() -> None:
    first = export_rule_file(*server_state(rules(RULES, **SECRET)))

    second = export_rule_file(*server_state(rules(first, FERRY_SECRET_ACR="x")))

    assert second == first


def test_no_secret_is_ever_written() -> None:
    text = export_rule_file(*server_state(rules(RULES, ACR_PASSWORD="do-not-write-me")))

    assert "do-not-write-me" not in text
    assert "*****" not in text
    assert "access_secret_env: FERRY_SECRET_ACR" in text


def test_a_ca_certificate_is_written_as_a_block() -> None:
    with_ca = RULES.replace("type: harbor\n", "type: harbor\n    ca_certificate: |\n" + _indent(CA, 6) + "\n")
    stored = server_state(rules(with_ca, **SECRET))

    text = export_rule_file(*stored)

    assert "ca_certificate: |" in text
    assert plan_apply(rules(text, FERRY_SECRET_ACR="x"), *stored).pending == []


def test_secret_variables_are_upper_snake_case_and_unique() -> None:
    taken: set[str] = set()

    names = [secret_variable(name, taken) for name in ("aliyun-acr", "aliyun_acr", "harbor.b", "---")]

    assert names == [
        "FERRY_SECRET_ALIYUN_ACR",
        "FERRY_SECRET_ALIYUN_ACR_2",
        "FERRY_SECRET_HARBOR_B",
        "FERRY_SECRET_REGISTRY",
    ]


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def test_a_poll_interval_of_zero_survives_export_and_apply() -> None:
    watched = RULES.replace("trigger: {type: event_based}", "trigger: {type: event_based, poll_interval: 0}")
    stored = server_state(rules(watched, **SECRET))

    text = export_rule_file(*stored)
    plan = plan_apply(rules(text, FERRY_SECRET_ACR="any"), *stored)

    assert "poll_interval: 0" in text
    assert [change.action for change in plan.changes] == [Action.UNCHANGED] * 4


def test_provider_settings_are_exported_when_set_and_survive_export_and_apply() -> None:
    stored = server_state(rules(WITH_SETTINGS, **SECRET))

    text = export_rule_file(*stored)
    plan = plan_apply(rules(text, FERRY_SECRET_ACR="any"), *stored)

    written = "  provider_settings:\n    region: cn-hangzhou\n    drop_attestations: false\n- name: harbor-b"
    assert written in text
    assert text.count("provider_settings") == 1  # harbor-b has none
    assert [change.action for change in plan.changes] == [Action.UNCHANGED] * 4
    assert export_rule_file(*server_state(rules(text, FERRY_SECRET_ACR="x"))) == text
