"""When a scheduled policy fires: the latest cron time, the due fire, the next fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.replication.domain.cron import latest_run, next_runs
from ferry.replication.domain.policy import Policy, Trigger
from ferry.replication.domain.schedule import due_fire, fires_on_schedule, next_fire
from ferry.replication.domain.status import TriggerType
from tests.unit.replication.domain.builders import make_policy

SAVED = datetime(2026, 12, 1, 12, 0, 0, 500_000, tzinfo=UTC)
DAILY_2AM = Trigger(TriggerType.SCHEDULED, "0 0 2 * * *")


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, micro, tzinfo=UTC)


def scheduled(trigger: Trigger = DAILY_2AM, **fields: Any) -> Policy:
    return make_policy(trigger=trigger, creation_time=SAVED, update_time=SAVED, **fields)


# -- latest_run ----------------------------------------------------------------------------------


def test_latest_run_includes_the_exact_second() -> None:
    assert latest_run("0 0 2 * * *", at=at(3, 2)) == at(3, 2)


def test_latest_run_is_truncated_to_whole_seconds() -> None:
    assert latest_run("0 0 2 * * *", at=at(3, 2, 0, 0, 999_999)) == at(3, 2)


def test_latest_run_a_second_early_is_the_day_before() -> None:
    assert latest_run("0 0 2 * * *", at=at(3, 1, 59, 59, 999_999)) == at(2, 2)


def test_latest_run_in_a_time_zone() -> None:
    # 02:00 in Shanghai (UTC+8) is 18:00 UTC the day before
    assert latest_run("0 0 2 * * *", at=at(3, 18), timezone="Asia/Shanghai") == at(3, 18)
    assert latest_run("0 0 2 * * *", at=at(3, 17, 59, 59), timezone="Asia/Shanghai") == at(2, 18)


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    expression=st.sampled_from(["0 0 2 * * *", "0 */15 * * * *", "0 30 1 * * MON-FRI", "0 5,35 * * * 0"]),
    timezone=st.sampled_from([None, "Asia/Shanghai", "America/New_York"]),
)
def test_latest_run_is_the_last_fire_at_or_before_the_moment(
    moment: datetime, expression: str, timezone: str | None
) -> None:
    latest = latest_run(expression, at=moment, timezone=timezone)
    assert latest <= moment
    assert latest.microsecond == 0
    (following,) = next_runs(expression, after=latest, timezone=timezone)
    assert following > moment


# -- due_fire ------------------------------------------------------------------------------------


def test_the_fire_is_due_at_its_second() -> None:
    assert due_fire(scheduled(), last_fire=None, now=at(2, 2)) == at(2, 2)


def test_nothing_is_due_a_second_before() -> None:
    assert due_fire(scheduled(), last_fire=at(1, 2), now=at(2, 1, 59, 59, 999_999)) is None


def test_a_fire_already_run_is_not_due_again() -> None:
    assert due_fire(scheduled(), last_fire=at(2, 2), now=at(2, 2, 0, 30)) is None


def test_the_next_day_is_due_after_a_fire() -> None:
    assert due_fire(scheduled(), last_fire=at(2, 2), now=at(3, 2, 0, 0, 10)) == at(3, 2)


def test_no_fire_for_a_time_before_the_policy_was_saved() -> None:
    # saved at 12:00 on the 1st: 02:00 on the 1st is in its past
    assert due_fire(scheduled(), last_fire=None, now=at(1, 23)) is None


def test_a_fire_in_the_same_second_the_policy_was_saved_is_before_it() -> None:
    policy = make_policy(trigger=Trigger(TriggerType.SCHEDULED, "0 0 12 * * *"), update_time=SAVED)
    assert due_fire(policy, last_fire=None, now=SAVED + timedelta(seconds=1)) is None


def test_an_edit_moves_the_start_past_the_last_fire() -> None:
    edited = make_policy(trigger=DAILY_2AM, creation_time=SAVED, update_time=at(5, 3))
    assert due_fire(edited, last_fire=at(4, 2), now=at(5, 4)) is None
    assert due_fire(edited, last_fire=at(4, 2), now=at(6, 2)) == at(6, 2)


def test_after_a_pause_only_the_most_recent_missed_fire_is_due() -> None:
    assert due_fire(scheduled(), last_fire=at(2, 2), now=at(9, 13)) == at(9, 2)


def test_a_time_zone_moves_the_fire() -> None:
    shanghai = scheduled(Trigger(TriggerType.SCHEDULED, "0 0 2 * * *", "Asia/Shanghai"))
    assert due_fire(shanghai, last_fire=None, now=at(2, 17, 59, 59)) == at(1, 18)
    assert due_fire(shanghai, last_fire=at(1, 18), now=at(2, 17, 59, 59)) is None
    assert due_fire(shanghai, last_fire=at(1, 18), now=at(2, 18)) == at(2, 18)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(scheduled(enabled=False), id="disabled"),
        pytest.param(make_policy(trigger=Trigger(TriggerType.MANUAL)), id="manual"),
        pytest.param(make_policy(trigger=Trigger(TriggerType.EVENT_BASED)), id="event-based"),
    ],
)
def test_only_enabled_scheduled_policies_fire(policy: Policy) -> None:
    assert not fires_on_schedule(policy)
    assert due_fire(policy, last_fire=None, now=at(20, 2)) is None
    assert next_fire(policy, after=at(20, 2)) is None


# -- next_fire -----------------------------------------------------------------------------------


def test_the_next_fire_is_strictly_after() -> None:
    assert next_fire(scheduled(), after=at(3, 2)) == at(4, 2)
    assert next_fire(scheduled(), after=at(3, 1, 59, 59)) == at(3, 2)


def test_the_next_fire_is_after_the_last_change() -> None:
    edited = make_policy(trigger=DAILY_2AM, creation_time=SAVED, update_time=at(5, 3))
    assert next_fire(edited, after=at(5, 1)) == at(6, 2)


def test_the_next_fire_in_a_time_zone_is_shown_in_utc() -> None:
    shanghai = scheduled(Trigger(TriggerType.SCHEDULED, "0 0 2 * * *", "Asia/Shanghai"))
    shown = next_fire(shanghai, after=at(3, 12))
    assert shown == at(3, 18)
    assert shown is not None
    assert shown.tzinfo == UTC
