"""Harbor's list conventions: the ``q`` filter, ``sort``, ``page``/``page_size`` and the ``Link`` header.

Pure Python; the routes hand in the raw query parameters and the items, and get back a page.
Semantics follow goharbor/harbor ``src/lib/q/builder.go`` (parsing), ``src/lib/orm/query.go``
(matching, sorting, paging) and ``src/server/v2.0/handler/base.go`` (``Links``):

- ``q`` is split on every comma (Harbor's parser knows no nesting: list members are separated by
  spaces, so ``type={a,b}`` is an error), each item on its first ``=``; key and value must not be
  empty, and a later item for a key replaces an earlier one. Harbor URL-decodes ``q`` once more
  after the framework has, so that clients that encode it twice work; ferry does the same.
- ``v`` exact (a leading ``\\`` makes ``\\~v`` mean the text ``~v``); ``~v`` case-insensitive
  substring (Harbor's ``__icontains``, SQL ``ILIKE``); ``[a~b]`` inclusive range, either side may be
  empty but not both; ``{a b}`` any of (``{}`` matches nothing); ``(a b)`` all of. Range and list
  members are trimmed and lose surrounding quotes; exact values are taken as written.
- ``sort=f1,-f2``; ``page`` from 1 (default 1); ``page_size`` 1 to 100 (default 10).

Where Harbor quietly does something else with a mistake, ferry refuses it with ``InvalidInput``:
Harbor ignores unknown ``q`` keys and ``sort`` fields (answering with an unfiltered or unsorted
list), treats ``page`` < 1 as 1 and ``page_size`` < 1 as "no limit", and leaves fuzzy matching of
numbers and times to the database's text casts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeAlias
from urllib.parse import quote, unquote_plus

from ferry.errors import InvalidInput

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**63 - 1

Scalar: TypeAlias = str | int | bool | datetime

_Q_FORMS = (
    "write comma-separated items such as name=acr (exact), name=~ac (contains), id=[1~5] (range), "
    "type={harbor docker-hub} (any of) or labels=(a b) (all of)"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters Harbor's Link URLs show unescaped (it unescapes its whole query string); the rest are
# percent-encoded because a raw space, "&", "#", "+", "%" or ">" would change or end the URL.
_LINK_SAFE = "!$'()*,;=:@/?[]{}"


class FieldKind(StrEnum):
    """How a field's ``q`` values are read and compared; ``TIME`` compares ISO 8601 strings as datetimes."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIME = "time"


class Match(StrEnum):
    """The five ``q`` value forms."""

    EXACT = "exact"  # k=v
    FUZZY = "fuzzy"  # k=~v
    RANGE = "range"  # k=[min~max]
    ANY_OF = "any_of"  # k={v1 v2}
    ALL_OF = "all_of"  # k=(v1 v2)


@dataclass(frozen=True)
class Condition:
    """One ``q`` item. ``RANGE`` uses ``minimum``/``maximum`` (``None``: open side), the others ``values``."""

    field: str
    kind: FieldKind
    match: Match
    values: tuple[Scalar, ...] = ()
    minimum: Scalar | None = None
    maximum: Scalar | None = None

    def matches(self, value: Any) -> bool:
        """Whether an item's value satisfies the condition. A list value (labels, tags) is a set of
        members: exact, fuzzy, range and any-of need one member to match, all-of needs every value."""
        members = _members(value, self.kind)
        if self.match is Match.ALL_OF:
            return all(wanted in members for wanted in self.values)
        if self.match is Match.RANGE:
            return any(_within(member, self.minimum, self.maximum) for member in members)
        if self.match is Match.FUZZY:
            needle = str(self.values[0]).lower()
            return any(needle in str(member).lower() for member in members)
        return any(member in self.values for member in members)


@dataclass(frozen=True)
class SortKey:
    """One ``sort`` field; ``kind`` makes times sort as instants rather than as text."""

    field: str
    descending: bool = False
    kind: FieldKind = FieldKind.STRING


@dataclass(frozen=True)
class ListQuery:
    """A parsed list request; build it with ``parse_list_query``, which enforces the bounds."""

    conditions: tuple[Condition, ...]
    sort: tuple[SortKey, ...]
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        """Capped at the largest offset a database takes; no list reaches it, so the page is empty
        either way."""
        return min((self.page - 1) * self.page_size, MAX_OFFSET)


def parse_list_query(
    *,
    q: str | None,
    sort: str | None,
    page: int | None,
    page_size: int | None,
    fields: Mapping[str, FieldKind],
    sortable: Collection[str] | None = None,
    default_sort: str | None = None,
) -> ListQuery:
    """Read a list request's parameters. ``fields`` are the filterable fields; ``sortable`` defaults
    to them; ``default_sort`` (same syntax as ``sort``) applies when the request sorts by nothing,
    like Harbor's per-model default order. Raises ``InvalidInput`` naming the parameter."""
    keys = _parse_sort(sort, fields, sortable) or _parse_sort(default_sort, fields, sortable)
    return ListQuery(
        conditions=_parse_q(q, fields),
        sort=keys,
        page=_check_page(page),
        page_size=_check_page_size(page_size),
    )


def apply_query(items: Sequence[Mapping[str, Any]], query: ListQuery) -> tuple[list[Mapping[str, Any]], int]:
    """Filter (all conditions), sort (stable; ``None`` first when ascending) and cut out the page.
    Returns the page and how many items matched, the route's ``X-Total-Count``."""
    matching = [
        item for item in items if all(cond.matches(item.get(cond.field)) for cond in query.conditions)
    ]
    for key in reversed(query.sort):  # stable sorts, least significant key first
        matching.sort(key=_sort_key(key), reverse=key.descending)
    return matching[query.offset : query.offset + query.page_size], len(matching)


def link_header(path: str, params: Mapping[str, str], *, page: int, page_size: int, total: int) -> str | None:
    """Harbor's ``Link`` value: ``<url>; rel="prev" , <url>; rel="next"``, each URL keeping the
    request's other parameters, sorted by name as Go's ``url.Values.Encode`` does. Like Harbor, no
    ``prev`` once the previous page is past the end; ``None`` when there is neither."""
    if page_size < 1:
        return None
    links = []
    if page > 1 and (page - 1) * page_size < total:
        links.append(_link(path, params, page - 1, page_size, "prev"))
    if page * page_size < total:
        links.append(_link(path, params, page + 1, page_size, "next"))
    return " , ".join(links) or None


def _link(path: str, params: Mapping[str, str], page: int, page_size: int, rel: str) -> str:
    merged = {**params, "page": str(page), "page_size": str(page_size)}
    query = "&".join(f"{_escape(name)}={_escape(value)}" for name, value in sorted(merged.items()))
    return f'<{quote(path, safe="/" + _LINK_SAFE)}?{query}>; rel="{rel}"'


def _escape(text: str) -> str:
    return quote(text, safe=_LINK_SAFE)


def _parse_q(q: str | None, fields: Mapping[str, FieldKind]) -> tuple[Condition, ...]:
    if not q:
        return ()
    by_field: dict[str, Condition] = {}
    for item in _unescape_again(q).split(","):
        key, equals, raw = item.partition("=")
        if not (equals and key and raw):
            raise InvalidInput(f"q: {item!r} is not a key=value item with both sides set", hint=_Q_FORMS)
        kind = fields.get(key)
        if kind is None:
            raise InvalidInput(f"q: unknown field {key!r}", hint=f"filter by one of: {_names(fields)}")
        by_field[key] = _parse_condition(key, kind, raw)
    return tuple(by_field.values())


def _unescape_again(q: str) -> str:
    """Harbor runs ``url.QueryUnescape`` over ``q`` although it arrives decoded (so ``+`` becomes a
    space), and keeps ``q`` unchanged when that fails on a stray ``%``."""
    return q if _BAD_ESCAPE.search(q) else unquote_plus(q)


def _parse_condition(key: str, kind: FieldKind, raw: str) -> Condition:
    item = f"{key}={raw}"
    if raw[0] == "~":
        return _parse_fuzzy(key, kind, raw, item)
    if raw[0] == "[":
        return _parse_range(key, kind, raw, item)
    if raw[0] in "{(":
        return _parse_list(key, kind, raw, item)
    text = raw[1:] if raw[0] == "\\" else raw
    value = text if kind is FieldKind.STRING else _convert(kind, text.strip(), item)
    return Condition(key, kind, Match.EXACT, (value,))


def _parse_fuzzy(key: str, kind: FieldKind, raw: str, item: str) -> Condition:
    if len(raw) < 2:
        raise InvalidInput(f"q: {item} has nothing after '~'", hint=f"write {key}=~text to find text in it")
    if kind is not FieldKind.STRING:
        raise InvalidInput(
            f"q: {item}: '~' matches text and {key} is a {kind} field",
            hint=f"match it exactly ({key}=value) or by range ({key}=[min~max])",
        )
    return Condition(key, kind, Match.FUZZY, (raw[1:],))


def _parse_range(key: str, kind: FieldKind, raw: str, item: str) -> Condition:
    hint = f"write {key}=[min~max] with one '~'; either side may be empty, e.g. {key}=[min~]"
    if raw[-1] != "]" or raw.count("~") != 1:
        raise InvalidInput(f"q: {item} is not a range", hint=hint)
    low, high = (side.strip() for side in raw[1:-1].split("~"))
    if not low and not high:
        raise InvalidInput(f"q: {item} has neither a minimum nor a maximum", hint=hint)
    if kind is FieldKind.BOOLEAN:
        raise InvalidInput(f"q: {item}: {key} is true or false and has no range", hint=f"write {key}=true")
    return Condition(
        key,
        kind,
        Match.RANGE,
        minimum=_convert_member(kind, low, item) if low else None,
        maximum=_convert_member(kind, high, item) if high else None,
    )


def _parse_list(key: str, kind: FieldKind, raw: str, item: str) -> Condition:
    close, match = ("}", Match.ANY_OF) if raw[0] == "{" else (")", Match.ALL_OF)
    if raw[-1] != close:
        raise InvalidInput(
            f"q: {item} does not end with '{close}'",
            hint=f"separate list members with spaces, not commas: {key}={raw[0]}a b{close}",
        )
    members = (member.strip().strip("\"'") for member in raw[1:-1].split(" "))
    values = tuple(_convert(kind, member, item) for member in members if member)
    return Condition(key, kind, match, values)


def _convert_member(kind: FieldKind, text: str, item: str) -> Scalar:
    return _convert(kind, text.strip().strip("\"'"), item)


def _convert(kind: FieldKind, text: str, item: str) -> Scalar:
    if kind is FieldKind.INTEGER:
        if _INTEGER.fullmatch(text):
            return int(text)
        raise InvalidInput(f"q: {item}: {text!r} is not an integer", hint="write a whole number such as 3")
    if kind is FieldKind.BOOLEAN:
        if text.lower() in _BOOLEANS:
            return _BOOLEANS[text.lower()]
        raise InvalidInput(f"q: {item}: {text!r} is not true or false", hint="write true or false")
    if kind is FieldKind.TIME:
        moment = _parse_time(text)
        if moment is None:
            raise InvalidInput(
                f"q: {item}: {text!r} is not a time",
                hint="write an ISO 8601 time such as 2026-11-28T04:19:19Z (UTC when it has no offset)",
            )
        return moment
    return text


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_sort(
    sort: str | None, fields: Mapping[str, FieldKind], sortable: Collection[str] | None
) -> tuple[SortKey, ...]:
    if not sort:
        return ()
    allowed = fields.keys() if sortable is None else sortable
    keys = []
    for part in sort.split(","):
        descending = part.startswith("-")
        name = part[1:] if descending else part
        if name not in allowed:
            problem = f"unknown field {name!r}" if name else f"empty field in {sort!r}"
            raise InvalidInput(
                f"sort: {problem}",
                hint=f"sort by one of: {_names(allowed)}; put '-' before a field for descending order",
            )
        keys.append(SortKey(name, descending, fields.get(name, FieldKind.STRING)))
    return tuple(keys)


def _names(fields: Collection[str]) -> str:
    return ", ".join(sorted(fields))


def _check_page(page: int | None) -> int:
    if page is None:
        return 1
    if page < 1:
        raise InvalidInput(f"page: {page} is less than 1", hint="pages are numbered from 1")
    return page


def _check_page_size(page_size: int | None) -> int:
    if page_size is None:
        return DEFAULT_PAGE_SIZE
    if page_size < 1:
        hint = f"ask for 1 to {MAX_PAGE_SIZE} items"
        raise InvalidInput(f"page_size: {page_size} is less than 1", hint=hint)
    if page_size > MAX_PAGE_SIZE:
        raise InvalidInput(
            f"page_size: {page_size} is more than {MAX_PAGE_SIZE}",
            hint=f"ask for at most {MAX_PAGE_SIZE} items and follow the Link header's next page for the rest",
        )
    return page_size


def _members(value: Any, kind: FieldKind) -> list[Scalar]:
    raw = value if isinstance(value, list | tuple) else [value]
    coerced = (_coerce(member, kind) for member in raw)
    return [member for member in coerced if member is not None]


def _coerce(value: Any, kind: FieldKind) -> Scalar | None:
    """An item's value as the field's kind; ``None`` (matches nothing) when it is missing or mistyped."""
    if kind is FieldKind.TIME:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return _parse_time(value) if isinstance(value, str) else None
    if kind is FieldKind.BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind is FieldKind.INTEGER:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else None


def _within(value: Any, minimum: Any, maximum: Any) -> bool:
    return (minimum is None or minimum <= value) and (maximum is None or value <= maximum)


def _sort_key(key: SortKey) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    return lambda item: _sort_value(item.get(key.field), key.kind)


def _sort_value(value: Any, kind: FieldKind) -> tuple[Any, ...]:
    """A key that puts missing values first and never compares ``None`` with a value."""
    if isinstance(value, list | tuple):
        return (1, tuple(_members(value, kind)))
    coerced = _coerce(value, kind)
    return (0,) if coerced is None else (1, coerced)
