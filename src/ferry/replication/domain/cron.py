"""Harbor's replication cron: six fields, seconds first (``sec min hour dom month dow``), evaluated
in UTC unless the rule names a time zone. Replication adds two rules of its own: the seconds field
must be ``0`` and the minutes field must not be ``*``, so a rule never fires more than once a
minute. Descriptors such as ``@daily`` are not part of Harbor's syntax.

Parsing and stepping are croniter's (``second_at_beginning`` gives Harbor's field order); this
module adds Harbor's rules and error messages that say how to write the expression.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from ferry.replication.domain.fields import InvalidField

FIELD = "trigger.cron"
EXAMPLE = '"0 0 2 * * *" runs every day at 02:00'
_HINT = f"write six fields, seconds first (sec min hour day-of-month month day-of-week): {EXAMPLE}"


def check_cron(expression: str, *, field: str = FIELD) -> str:
    """The expression with single spaces, or ``InvalidField`` saying what is wrong."""
    fields = expression.split()
    if expression.strip().startswith("@"):
        raise InvalidField(
            field, f"{expression.strip()!r} is a descriptor, which Harbor does not accept", hint=_HINT
        )
    if len(fields) != 6:
        hint = _HINT
        if len(fields) == 5:
            hint = f'put the seconds first: "0 {" ".join(fields)}" ({EXAMPLE})'
        raise InvalidField(field, f"{expression.strip()!r} has {len(fields)} fields, not 6", hint=hint)
    if fields[0] != "0":
        raise InvalidField(
            field,
            f"the seconds field is {fields[0]!r}; replication needs 0",
            hint=f"start the expression with 0: {EXAMPLE}",
        )
    if fields[1] == "*":
        raise InvalidField(
            field,
            "the minutes field is *, which would start a run every minute",
            hint='give the minute(s), e.g. "0 0 * * * *" runs hourly, "0 */15 * * * *" every 15 minutes',
        )
    normalised = " ".join(fields)
    try:
        croniter(normalised, datetime(2000, 1, 1, tzinfo=UTC), second_at_beginning=True).get_next(datetime)
    except (CroniterError, ValueError) as exc:
        raise InvalidField(
            field, f"{normalised!r} is not a valid cron expression: {exc}", hint=_HINT
        ) from exc
    return normalised


def zone(name: str | None, *, field: str = "trigger.timezone") -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidField(
            field,
            f"{name!r} is not a known time zone",
            hint="use an IANA name such as Asia/Shanghai",
        ) from exc


def next_runs(
    expression: str, *, after: datetime, timezone: str | None = None, count: int = 1
) -> list[datetime]:
    """The next ``count`` fire times after ``after``, in UTC; the cron is read in ``timezone``."""
    local = after.astimezone(zone(timezone) or UTC)
    steps = croniter(check_cron(expression), local, second_at_beginning=True)
    return [steps.get_next(datetime).astimezone(UTC) for _ in range(count)]


def latest_run(expression: str, *, at: datetime, timezone: str | None = None) -> datetime:
    """The latest fire time at or before ``at`` (whole seconds), in UTC; the cron is read in
    ``timezone``. croniter's previous step is strict, so stepping back starts a second later."""
    local = (at.replace(microsecond=0) + timedelta(seconds=1)).astimezone(zone(timezone) or UTC)
    steps = croniter(check_cron(expression), local, second_at_beginning=True)
    previous: datetime = steps.get_prev(datetime)
    return previous.astimezone(UTC)
