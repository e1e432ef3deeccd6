"""Validation errors that name the offending field, and the checks several values share.

Harbor answers a bad policy with "invalid filter decoration" and leaves the user to guess which
filter; ferry's errors say ``filters[1].decoration: ...`` and how to fix it, so the API can return
the field and the web form can put the message next to it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from ferry.errors import InvalidInput

E = TypeVar("E", bound=StrEnum)


class InvalidField(InvalidInput):
    """One field of a registry or policy is invalid; ``field`` is its path (``filters[1].value``)."""

    def __init__(self, field: str, problem: str, *, hint: str) -> None:
        super().__init__(f"{field}: {problem}", hint=hint)
        self.field = field


def field_error(field: str, cause: InvalidInput) -> InvalidField:
    """Re-raise another module's error (a glob, a repository name) under the field it came from."""
    return InvalidField(field, cause.message, hint=cause.hint or f"correct {field}")


def check_name(field: str, value: str, *, limit: int) -> str:
    """A display name: trimmed, not empty, at most ``limit`` characters, no control characters."""
    name = value.strip()
    if not name:
        raise InvalidField(field, "must not be empty", hint=f"give a name of 1 to {limit} characters")
    if len(name) > limit:
        raise InvalidField(
            field, f"is {len(name)} characters long, the limit is {limit}", hint="choose a shorter name"
        )
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise InvalidField(
            field, "contains a control character", hint="remove tabs, newlines and other control characters"
        )
    return name


def utc_time(field: str, value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused because its instant is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidField(
            field, "has no time zone", hint="pass a timezone-aware datetime, e.g. datetime.now(UTC)"
        )
    return value.astimezone(UTC)


def enum_member(field: str, kind: type[E], value: str) -> E:
    """``value`` as a member of ``kind``, or an error listing the accepted spellings."""
    try:
        return kind(value)
    except ValueError:
        what = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", kind.__name__).lower()
        accepted = ", ".join(member.value for member in kind)
        article = "an" if what[:1] in {"a", "e", "i", "o", "u"} else "a"
        problem = f"{value!r} is not {article} {what}"
        raise InvalidField(field, problem, hint=f"use one of: {accepted}") from None
