from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ferry.replication.domain.cron import check_cron, next_runs
from ferry.replication.domain.fields import InvalidField

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    ["0 0 2 * * *", "0 */15 * * * *", "0 30 1 * * MON-FRI", "0 0 0 1 1 *", "0 0 2 ? * *", "0 5,35 * * * 0"],
)
def test_harbor_expressions_are_accepted(expression: str) -> None:
    assert check_cron(expression) == expression


def test_spacing_is_normalised() -> None:
    assert check_cron("  0  0 2 * * *  ") == "0 0 2 * * *"


@pytest.mark.parametrize(
    ("expression", "problem", "hint"),
    [
        ("0 2 * * *", "has 5 fields", '"0 0 2 * * *"'),
        ("@daily", "descriptor", "six fields"),
        ("30 0 2 * * *", "seconds field is '30'", "start the expression with 0"),
        ("* 0 2 * * *", "seconds field is '*'", "start the expression with 0"),
        ("0 * 2 * * *", "minutes field is *", "every 15 minutes"),
        ("0 0 25 * * *", "not a valid cron expression", "six fields"),
        ("0 0 2 * * FUNDAY", "not a valid cron expression", "six fields"),
        ("every night", "has 2 fields", "six fields"),
    ],
)
def test_invalid_expressions_say_how_to_fix_them(expression: str, problem: str, hint: str) -> None:
    with pytest.raises(InvalidField) as caught:
        check_cron(expression)
    assert caught.value.field == "trigger.cron"
    assert problem in caught.value.message
    assert caught.value.hint is not None
    assert hint in caught.value.hint


def test_next_runs_in_utc_by_default() -> None:
    assert next_runs("0 0 2 * * *", after=NOW, count=2) == [
        datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 2, 0, tzinfo=UTC),
    ]


def test_next_runs_in_a_time_zone() -> None:
    # 02:00 in Shanghai (UTC+8) is 18:00 UTC the day before
    assert next_runs("0 0 2 * * *", after=NOW, timezone="Asia/Shanghai") == [
        datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    ]


def test_day_of_week_zero_is_sunday() -> None:
    (run,) = next_runs("0 0 12 * * 0", after=NOW)
    assert run.weekday() == 6


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidField) as caught:
        next_runs("0 0 2 * * *", after=NOW, timezone="Mars/Olympus")
    assert caught.value.field == "trigger.timezone"
