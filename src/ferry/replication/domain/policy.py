"""Replication policies (Harbor's "replication rules"): what to copy, from where, to where, and when.

A ``Policy`` holds every field Harbor's API has. ``validate_policy`` checks one and returns it
normalised (trimmed names, default decorations, a negative speed stored as 0, UTC times), or raises
``InvalidField`` naming the field (``filters[1].value``) with a hint that says how to fix it.

Direction comes from the registry ids: id 0 is the local registry, so ``0 → n`` is a push and
``n → 0`` a pull. Harbor insists that exactly one side is local; ferry also accepts remote → remote
(two different non-zero ids), for example to mirror Docker Hub into Alibaba ACR without a local
copy. Only the source and destination being the same registry is refused.

A cron must be present exactly when the trigger is ``scheduled``, and is checked with Harbor's
rules (``domain.cron``). A ``poll_interval`` (ferry) is only for ``event_based`` triggers: how often
ferry watches a source that sends no events (``domain.watch``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ferry.errors import InvalidInput
from ferry.oci.reference import validate_repository
from ferry.replication.domain.cron import check_cron, zone
from ferry.replication.domain.fields import InvalidField, check_name, enum_member, field_error, utc_time
from ferry.replication.domain.labels import LabelEntry
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.replication.domain.status import TriggerType
from ferry.replication.globs import compile_pattern_list
from ferry.replication.naming import FLATTEN_ALL

NAME_LIMIT = 256
MAX_REPLACE_COUNT = 127
"""Harbor stores the count in an int8."""
MAX_SPEED = 2**31 - 1
"""Harbor stores the speed (Kbit/s) in an int32."""
MIN_POLL_INTERVAL = 30
MAX_POLL_INTERVAL = 86_400


class FilterType(StrEnum):
    NAME = "name"
    TAG = "tag"
    LABEL = "label"
    RESOURCE = "resource"
    """``image`` or ``artifact``; stored and shown, but not applied (as in Harbor)."""


class Decoration(StrEnum):
    MATCHES = "matches"
    EXCLUDES = "excludes"


class ResourceType(StrEnum):
    IMAGE = "image"
    ARTIFACT = "artifact"


class Direction(StrEnum):
    PUSH = "push"
    """local → remote"""
    PULL = "pull"
    """remote → local"""
    REMOTE = "remote"
    """remote → remote (ferry only; Harbor needs one local side)"""


@dataclass(frozen=True)
class Filter:
    """One filter; ``value`` is a pattern string, except for ``label`` filters: a tuple of labels.

    Name and resource filters take no decoration; tag and label filters default to ``matches``.
    """

    type: FilterType
    value: str | tuple[str, ...] = ""
    decoration: Decoration | None = None


@dataclass(frozen=True)
class Trigger:
    type: TriggerType = TriggerType.MANUAL
    cron: str | None = None
    """Six fields, seconds first (Harbor's syntax); only for ``scheduled``."""
    timezone: str | None = None
    """An IANA zone name for the cron; None means UTC, as in Harbor."""
    poll_interval: int | None = None
    """Seconds between two looks at the source (ferry); only for ``event_based``. None is the
    default (``domain.watch``), 0 turns watching off."""


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A replication policy. Defaults follow Harbor's web form (override and enabled on)."""

    id: int
    name: str
    description: str = ""
    creator: str = ""
    src_registry_id: int
    dest_registry_id: int
    dest_namespace: str = ""
    dest_namespace_replace_count: int = FLATTEN_ALL
    filters: tuple[Filter, ...] = ()
    trigger: Trigger = Trigger()
    deletion: bool = False
    override: bool = True
    enabled: bool = True
    speed: int = 0
    """Kbit/s; 0 is unlimited."""
    copy_by_chunk: bool = False
    single_active_replication: bool = False
    creation_time: datetime
    update_time: datetime

    @property
    def direction(self) -> Direction:
        return direction_of(self.src_registry_id, self.dest_registry_id)

    def filters_of(self, kind: FilterType) -> tuple[Filter, ...]:
        return tuple(item for item in self.filters if item.type == kind)


def filter_to_json(item: Filter) -> dict[str, Any]:
    """A filter as Harbor's JSON shows it: ``{"type", "value"[, "decoration"]}``, labels as a list."""
    value: Any = list(item.value) if isinstance(item.value, tuple) else item.value
    shaped: dict[str, Any] = {"type": item.type.value, "value": value}
    if item.decoration is not None:
        shaped["decoration"] = item.decoration.value
    return shaped


def direction_of(src_registry_id: int, dest_registry_id: int) -> Direction:
    if src_registry_id == LOCAL_REGISTRY_ID:
        return Direction.PUSH
    if dest_registry_id == LOCAL_REGISTRY_ID:
        return Direction.PULL
    return Direction.REMOTE


def validate_policy(policy: Policy) -> Policy:
    """The policy normalised, or ``InvalidField`` for the first field (in field order) that is wrong."""
    if policy.id < 0:
        raise InvalidField("id", f"{policy.id} is negative", hint="leave the id to the store")
    name = check_name("name", policy.name, limit=NAME_LIMIT)
    _check_registries(policy.src_registry_id, policy.dest_registry_id)
    namespace = _check_namespace(policy.dest_namespace)
    replace_count = _check_replace_count(policy.dest_namespace_replace_count)
    filters = tuple(_check_filter(f"filters[{index}]", item) for index, item in enumerate(policy.filters))
    trigger = _check_trigger(policy.trigger)
    if policy.single_active_replication and trigger.type is TriggerType.EVENT_BASED:
        raise InvalidField(
            "single_active_replication",
            "cannot be used with an event_based trigger",
            hint="turn single_active_replication off, or use a manual or scheduled trigger",
        )
    if policy.speed > MAX_SPEED:
        raise InvalidField(
            "speed", f"{policy.speed} Kbit/s is too large", hint=f"use at most {MAX_SPEED}, or 0"
        )
    return replace(
        policy,
        name=name,
        description=policy.description.strip(),
        creator=policy.creator.strip(),
        dest_namespace=namespace,
        dest_namespace_replace_count=replace_count,
        filters=filters,
        trigger=trigger,
        speed=max(policy.speed, 0),
        creation_time=utc_time("creation_time", policy.creation_time),
        update_time=utc_time("update_time", policy.update_time),
    )


def _check_registries(src_registry_id: int, dest_registry_id: int) -> None:
    for field, registry_id in (("src_registry_id", src_registry_id), ("dest_registry_id", dest_registry_id)):
        if registry_id < 0:
            raise InvalidField(field, "is negative", hint="use 0 for the local registry or a registry's id")
    if src_registry_id == dest_registry_id:
        raise InvalidField(
            "dest_registry_id",
            f"is the source registry too (id {src_registry_id})",
            hint="choose a different destination; 0 is the local registry",
        )


def _check_namespace(namespace: str) -> str:
    cleaned = namespace.strip().strip("/")
    if cleaned:
        try:
            validate_repository(cleaned)
        except InvalidInput as exc:
            raise InvalidField(
                "dest_namespace",
                f"{namespace!r} is not a repository path",
                hint="use lowercase letters, digits and . _ __ - in /-separated components, or leave it "
                "empty to keep the source path",
            ) from exc
    return cleaned


def _check_replace_count(count: int) -> int:
    if not FLATTEN_ALL <= count <= MAX_REPLACE_COUNT:
        raise InvalidField(
            "dest_namespace_replace_count",
            f"{count} is out of range",
            hint="use -1 (keep only the last component), 0 (keep the whole path) or 1 to 127 "
            "(drop that many leading components)",
        )
    return count


def _check_filter(where: str, item: Filter) -> Filter:
    kind = enum_member(f"{where}.type", FilterType, item.type)
    if kind in {FilterType.NAME, FilterType.RESOURCE}:
        if item.decoration:
            raise InvalidField(
                f"{where}.decoration",
                f"a {kind} filter takes no decoration",
                hint="remove the decoration; only tag and label filters have matches/excludes",
            )
        decoration = None
    else:
        decoration = enum_member(f"{where}.decoration", Decoration, item.decoration or Decoration.MATCHES)
    if kind is FilterType.LABEL:
        return Filter(kind, _check_labels(f"{where}.value", item.value), decoration)
    if not isinstance(item.value, str):
        raise InvalidField(
            f"{where}.value", f"a {kind} filter's value must be a string", hint='write a pattern such as "v*"'
        )
    value = item.value.strip()
    if kind is FilterType.RESOURCE:
        return Filter(kind, enum_member(f"{where}.value", ResourceType, value).value)
    try:
        compile_pattern_list(value)
    except InvalidInput as exc:
        raise field_error(f"{where}.value", exc) from exc
    return Filter(kind, value, decoration)


def _check_labels(where: str, value: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidField(where, "must be a list of labels", hint='write ["production"], not "production"')
    entries: list[str] = []
    for index, text in enumerate(value):
        try:
            entry = str(LabelEntry.parse(text))
        except InvalidInput as exc:
            raise field_error(f"{where}[{index}]", exc) from exc
        if entry not in entries:
            entries.append(entry)
    if not entries:
        raise InvalidField(
            where, "lists no labels", hint="list at least one label, or remove the label filter"
        )
    return tuple(entries)


_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")


def _check_trigger(trigger: Trigger) -> Trigger:
    kind = enum_member("trigger.type", TriggerType, trigger.type)
    cron = (trigger.cron or "").strip() or None
    timezone = (trigger.timezone or "").strip() or None
    scheduled = kind is TriggerType.SCHEDULED
    if scheduled and cron is None:
        raise InvalidField(
            "trigger.cron",
            "is required for a scheduled trigger",
            hint='give six cron fields, seconds first: "0 0 2 * * *" runs every day at 02:00',
        )
    if not scheduled and cron is not None:
        raise InvalidField(
            "trigger.cron",
            f"is set but the trigger is {kind}",
            hint="remove the cron, or make the trigger scheduled",
        )
    if timezone is not None and not scheduled:
        raise InvalidField(
            "trigger.timezone", f"is set but the trigger is {kind}", hint="remove the time zone"
        )
    if timezone is not None and not _ZONE.match(timezone):
        raise InvalidField(
            "trigger.timezone",
            f"{timezone!r} is not a time zone name",
            hint="use an IANA name such as Asia/Shanghai",
        )
    zone(timezone)
    _check_poll_interval(kind, trigger.poll_interval)
    return Trigger(kind, check_cron(cron) if cron is not None else None, timezone, trigger.poll_interval)


def _check_poll_interval(kind: TriggerType, seconds: int | None) -> None:
    if seconds is None:
        return
    if kind is not TriggerType.EVENT_BASED:
        raise InvalidField(
            "trigger.poll_interval",
            f"is set but the trigger is {kind}",
            hint="remove poll_interval, or make the trigger event_based (ferry then watches the source)",
        )
    if seconds != 0 and not MIN_POLL_INTERVAL <= seconds <= MAX_POLL_INTERVAL:
        raise InvalidField(
            "trigger.poll_interval",
            f"{seconds} s is out of range",
            hint=f"use {MIN_POLL_INTERVAL} to {MAX_POLL_INTERVAL} seconds, or 0 to not watch the source "
            "(for rarer runs, use a scheduled trigger)",
        )
