from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.replication.domain.fields import InvalidField
from ferry.replication.domain.policy import (
    Decoration,
    Direction,
    Filter,
    FilterType,
    Policy,
    ResourceType,
    Trigger,
    direction_of,
    validate_policy,
)
from ferry.replication.domain.status import TriggerType

from .builders import NOW, make_policy, name

TAG_PROD = Filter(FilterType.TAG, "prod-*, v*")
LABEL_PRODUCTION = Filter(FilterType.LABEL, ("production",))


def invalid(**fields: Any) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        validate_policy(make_policy(**fields))
    assert caught.value.hint, "every validation error says how to fix it"
    return caught.value


def test_defaults_follow_harbor() -> None:
    policy = validate_policy(make_policy())
    assert policy.dest_namespace_replace_count == -1
    assert policy.trigger == Trigger(TriggerType.MANUAL)
    assert (policy.override, policy.enabled, policy.deletion) == (True, True, False)
    assert (policy.speed, policy.copy_by_chunk, policy.single_active_replication) == (0, False, False)


def test_the_guides_policy_is_valid() -> None:
    policy = validate_policy(
        make_policy(
            name=" push-to-aliyun ",
            dest_namespace="lgy-images",
            dest_namespace_replace_count=1,
            filters=(name("**/nms4cloud-*"), TAG_PROD, LABEL_PRODUCTION),
            trigger=Trigger(TriggerType.SCHEDULED, cron="0 0 2 * * *"),
        )
    )
    assert policy.name == "push-to-aliyun"
    assert policy.filters == (
        Filter(FilterType.NAME, "**/nms4cloud-*"),
        Filter(FilterType.TAG, "prod-*, v*", Decoration.MATCHES),
        Filter(FilterType.LABEL, ("production",), Decoration.MATCHES),
    )
    assert policy.direction is Direction.PUSH


@pytest.mark.parametrize(
    ("src", "dest", "direction"),
    [(0, 1, Direction.PUSH), (1, 0, Direction.PULL), (1, 2, Direction.REMOTE), (7, 3, Direction.REMOTE)],
)
def test_direction_comes_from_the_registry_ids(src: int, dest: int, direction: Direction) -> None:
    assert direction_of(src, dest) is direction
    assert validate_policy(make_policy(src_registry_id=src, dest_registry_id=dest)).direction is direction


@pytest.mark.parametrize(("src", "dest"), [(0, 0), (4, 4)])
def test_source_and_destination_must_differ(src: int, dest: int) -> None:
    error = invalid(src_registry_id=src, dest_registry_id=dest)
    assert error.field == "dest_registry_id"
    assert f"id {src}" in error.message


@pytest.mark.parametrize("field", ["src_registry_id", "dest_registry_id"])
def test_negative_registry_ids_are_refused(field: str) -> None:
    assert invalid(**{field: -1}).field == field


@pytest.mark.parametrize("bad", ["", "  ", "x" * 257, "tab\there"])
def test_bad_names_are_refused(bad: str) -> None:
    assert invalid(name=bad).field == "name"


def test_negative_id_is_refused() -> None:
    assert invalid(id=-1).field == "id"


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("", ""),
        ("lgy-images", "lgy-images"),
        (" /team/mirror/ ", "team/mirror"),
        ("a.b_c__d-e/f", "a.b_c__d-e/f"),
    ],
)
def test_destination_namespace_is_a_repository_path_or_empty(namespace: str, expected: str) -> None:
    assert validate_policy(make_policy(dest_namespace=namespace)).dest_namespace == expected


@pytest.mark.parametrize("namespace", ["Upper", "a//b", "a b", "-x", "x:tag"])
def test_bad_destination_namespaces_name_the_field(namespace: str) -> None:
    error = invalid(dest_namespace=namespace)
    assert error.field == "dest_namespace"
    assert repr(namespace) in error.message


@pytest.mark.parametrize("count", [-1, 0, 1, 3, 127])
def test_replace_counts_in_range_are_kept(count: int) -> None:
    assert (
        validate_policy(make_policy(dest_namespace_replace_count=count)).dest_namespace_replace_count == count
    )


@pytest.mark.parametrize("count", [-2, 128])
def test_replace_counts_out_of_range_are_refused(count: int) -> None:
    error = invalid(dest_namespace_replace_count=count)
    assert error.field == "dest_namespace_replace_count"
    assert "-1" in (error.hint or "")


@pytest.mark.parametrize(("speed", "stored"), [(-1, 0), (-500, 0), (0, 0), (1024, 1024)])
def test_a_negative_speed_is_stored_as_unlimited(speed: int, stored: int) -> None:
    assert validate_policy(make_policy(speed=speed)).speed == stored


def test_a_speed_beyond_int32_is_refused() -> None:
    assert invalid(speed=2**31).field == "speed"


def test_a_scheduled_trigger_needs_a_cron() -> None:
    error = invalid(trigger=Trigger(TriggerType.SCHEDULED))
    assert error.field == "trigger.cron"
    assert "0 0 2 * * *" in (error.hint or "")
    assert invalid(trigger=Trigger(TriggerType.SCHEDULED, cron="  ")).field == "trigger.cron"


@pytest.mark.parametrize("kind", [TriggerType.MANUAL, TriggerType.EVENT_BASED])
def test_only_a_scheduled_trigger_takes_a_cron_or_time_zone(kind: TriggerType) -> None:
    assert invalid(trigger=Trigger(kind, cron="0 0 2 * * *")).field == "trigger.cron"
    assert invalid(trigger=Trigger(kind, timezone="UTC")).field == "trigger.timezone"
    assert validate_policy(make_policy(trigger=Trigger(kind, cron=""))).trigger == Trigger(kind)


def test_a_scheduled_trigger_keeps_its_cron_and_time_zone() -> None:
    trigger = Trigger(TriggerType.SCHEDULED, cron=" 0 0 2 * * * ", timezone=" Asia/Shanghai ")
    assert validate_policy(make_policy(trigger=trigger)).trigger == Trigger(
        TriggerType.SCHEDULED, "0 0 2 * * *", "Asia/Shanghai"
    )


def test_a_malformed_time_zone_is_refused() -> None:
    trigger = Trigger(TriggerType.SCHEDULED, cron="0 0 2 * * *", timezone="../etc/passwd")
    assert invalid(trigger=trigger).field == "trigger.timezone"


def test_an_unknown_trigger_type_is_refused() -> None:
    assert invalid(trigger=Trigger("hourly")).field == "trigger.type"  # type: ignore[arg-type]


def test_single_active_replication_is_not_allowed_with_event_based_triggers() -> None:
    error = invalid(single_active_replication=True, trigger=Trigger(TriggerType.EVENT_BASED))
    assert error.field == "single_active_replication"
    for kind, cron in ((TriggerType.MANUAL, None), (TriggerType.SCHEDULED, "0 0 2 * * *")):
        policy = make_policy(single_active_replication=True, trigger=Trigger(kind, cron))
        assert validate_policy(policy).single_active_replication


def test_tag_and_label_filters_default_to_matches_and_keep_excludes() -> None:
    filters = (
        Filter(FilterType.TAG, "v*"),
        Filter(FilterType.TAG, "*-rc*", Decoration.EXCLUDES),
        Filter(FilterType.LABEL, ("production",), Decoration.EXCLUDES),
    )
    assert [item.decoration for item in validate_policy(make_policy(filters=filters)).filters] == [
        Decoration.MATCHES,
        Decoration.EXCLUDES,
        Decoration.EXCLUDES,
    ]


def test_filter_values_are_trimmed_and_labels_normalised() -> None:
    filters = (
        Filter(FilterType.NAME, "  library/**  "),
        Filter(FilterType.LABEL, (" tier = prod ", "a", "a")),
    )
    assert validate_policy(make_policy(filters=filters)).filters == (
        Filter(FilterType.NAME, "library/**"),
        Filter(FilterType.LABEL, ("tier=prod", "a"), Decoration.MATCHES),
    )


@pytest.mark.parametrize("value", ["", "**", "{library,harbor}/**", "v2.[4-6].*", "prod-*, v*"])
def test_valid_patterns_are_accepted(value: str) -> None:
    validate_policy(make_policy(filters=(name(value), Filter(FilterType.TAG, value))))


@pytest.mark.parametrize(
    ("filters", "field", "problem"),
    [
        ((name("**"), Filter(FilterType.TAG, "v[1-")), "filters[1].value", "invalid pattern 'v[1-'"),
        ((name("{a,b"),), "filters[0].value", "never closed"),
        ((Filter(FilterType.TAG, ("v*",)),), "filters[0].value", "must be a string"),
        (
            (Filter(FilterType.NAME, "**", Decoration.MATCHES),),
            "filters[0].decoration",
            "takes no decoration",
        ),
        (
            (Filter(FilterType.RESOURCE, "image", Decoration.EXCLUDES),),
            "filters[0].decoration",
            "no decoration",
        ),
        ((Filter(FilterType.TAG, "v*", "include"),), "filters[0].decoration", "not a decoration"),  # type: ignore[arg-type]
        ((Filter("repository", "x"),), "filters[0].type", "not a filter type"),  # type: ignore[arg-type]
        ((Filter(FilterType.LABEL, "production"),), "filters[0].value", "must be a list of labels"),
        ((Filter(FilterType.LABEL, ()),), "filters[0].value", "lists no labels"),
        ((Filter(FilterType.LABEL, ("ok", "=bad")),), "filters[0].value[1]", "has no name"),
        ((Filter(FilterType.RESOURCE, "chart"),), "filters[0].value", "not a resource type"),
    ],
)
def test_filter_errors_name_the_filter_and_field(
    filters: tuple[Filter, ...], field: str, problem: str
) -> None:
    error = invalid(filters=filters)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert problem in error.message


@pytest.mark.parametrize("value", list(ResourceType))
def test_resource_filters_accept_image_and_artifact(value: ResourceType) -> None:
    policy = validate_policy(make_policy(filters=(Filter(FilterType.RESOURCE, f" {value} "),)))
    assert policy.filters == (Filter(FilterType.RESOURCE, str(value)),)


def test_times_become_utc_and_naive_ones_are_refused() -> None:
    later = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    assert validate_policy(make_policy(update_time=later)).update_time == datetime(
        2024, 5, 1, 4, 0, tzinfo=NOW.tzinfo
    )
    assert invalid(creation_time=datetime(2024, 1, 1)).field == "creation_time"


def test_filters_of_selects_one_kind() -> None:
    policy = make_policy(filters=(name("a/**"), TAG_PROD, name("**/b")))
    assert policy.filters_of(FilterType.NAME) == (name("a/**"), name("**/b"))
    assert policy.filters_of(FilterType.LABEL) == ()


@given(
    st.builds(
        make_policy,
        name=st.text(min_size=1, max_size=20).filter(lambda text: text.strip() and text.isprintable()),
        dest_namespace_replace_count=st.integers(-1, 127),
        speed=st.integers(-(2**31), 2**31 - 1),
        override=st.booleans(),
        enabled=st.booleans(),
    )
)
def test_validation_is_idempotent(policy: Policy) -> None:
    once = validate_policy(policy)
    assert validate_policy(once) == once
    assert once.speed >= 0


def test_the_first_invalid_field_in_field_order_is_reported() -> None:
    error = invalid(name="", dest_namespace="Bad", trigger=Trigger(TriggerType.SCHEDULED))
    assert error.field == "name"
    assert invalid(dest_namespace="Bad", trigger=Trigger(TriggerType.SCHEDULED)).field == "dest_namespace"
