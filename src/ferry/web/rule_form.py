"""The NEW REPLICATION RULE / Edit form as typed, turned into a ``Policy`` for the store to validate,
and the domain's ``InvalidField`` paths (``filters[1].value``, ``trigger.cron``) turned back into
the form fields they are about.

Harbor's form has one field of each filter kind (Name, Tag, Label, Resource); a filter left empty is
no filter. Fields that do not belong to the chosen trigger (a cron under Manual) are kept in the
form but not sent to the domain, as Harbor's form hides them. Bandwidth is typed in Kbps or Mbps
(1 Mbps = 1000 Kbps, ferry's rate unit) and stored in Kbit/s; -1 or 0 is unlimited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import FormData

from ferry.errors import FerryError, RecordConflict
from ferry.replication.domain.fields import InvalidField, enum_member
from ferry.replication.domain.policy import (
    Decoration,
    Direction,
    Filter,
    FilterType,
    Policy,
    Trigger,
    direction_of,
)
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.replication.domain.status import TriggerType
from ferry.replication.naming import FLATTEN_ALL
from ferry.web.forms import FormErrors, text

FLATTENING = (FLATTEN_ALL, 0, 1, 2, 3)
"""Harbor's Flattening choices: all levels, none, then 1 to 3 leading components."""
SPEED_UNITS = {"kbps": 1, "mbps": 1000}
UNLIMITED = "-1"

_FILTER_FIELDS = {
    FilterType.NAME: ("name_filter", None),
    FilterType.TAG: ("tag_filter", "tag_decoration"),
    FilterType.LABEL: ("label_filter", "label_decoration"),
    FilterType.RESOURCE: ("resource_filter", None),
}
_DOMAIN_FIELDS = {
    "src_registry_id": "src_registry",
    "src_registry.id": "src_registry",
    "dest_registry_id": "dest_registry",
    "dest_registry.id": "dest_registry",
    "dest_namespace_replace_count": "replace_count",
    "trigger.type": "trigger_type",
    "trigger.cron": "cron",
    "trigger.timezone": "timezone",
    "trigger.poll_interval": "poll_interval",
    "single_active_replication": "single_active",
}
_FILTER_PATH = re.compile(r"^filters\[(\d+)\](?:\.(\w+))?")


@dataclass(frozen=True)
class RuleForm:
    """Every field of the form as text (so a wrong value comes back as typed)."""

    name: str = ""
    description: str = ""
    mode: str = Direction.PUSH.value
    src_registry: str = str(LOCAL_REGISTRY_ID)
    dest_registry: str = ""
    name_filter: str = ""
    tag_filter: str = ""
    tag_decoration: str = Decoration.MATCHES.value
    label_filter: str = ""
    label_decoration: str = Decoration.MATCHES.value
    resource_filter: str = ""
    dest_namespace: str = ""
    replace_count: str = str(FLATTEN_ALL)
    trigger_type: str = TriggerType.MANUAL.value
    cron: str = ""
    timezone: str = ""
    poll_interval: str = ""
    override: bool = True
    deletion: bool = False
    speed: str = UNLIMITED
    speed_unit: str = "kbps"
    copy_by_chunk: bool = False
    single_active: bool = False
    enabled: bool = True

    @classmethod
    def of(cls, policy: Policy) -> RuleForm:
        """A stored rule to edit: the first filter of each kind in its field."""
        firsts = {kind: next(iter(policy.filters_of(kind)), None) for kind in FilterType}
        speed, unit = _speed_text(policy.speed)
        return cls(
            name=policy.name,
            description=policy.description,
            mode=policy.direction.value,
            src_registry=str(policy.src_registry_id),
            dest_registry=str(policy.dest_registry_id),
            name_filter=_value_text(firsts[FilterType.NAME]),
            tag_filter=_value_text(firsts[FilterType.TAG]),
            tag_decoration=_decoration_text(firsts[FilterType.TAG]),
            label_filter=_value_text(firsts[FilterType.LABEL]),
            label_decoration=_decoration_text(firsts[FilterType.LABEL]),
            resource_filter=_value_text(firsts[FilterType.RESOURCE]),
            dest_namespace=policy.dest_namespace,
            replace_count=str(policy.dest_namespace_replace_count),
            trigger_type=policy.trigger.type.value,
            cron=policy.trigger.cron or "",
            timezone=policy.trigger.timezone or "",
            poll_interval="" if policy.trigger.poll_interval is None else str(policy.trigger.poll_interval),
            override=policy.override,
            deletion=policy.deletion,
            speed=speed,
            speed_unit=unit,
            copy_by_chunk=policy.copy_by_chunk,
            single_active=policy.single_active_replication,
            enabled=policy.enabled,
        )

    @classmethod
    def parse(cls, form: FormData) -> RuleForm:
        return cls(
            name=text(form, "name"),
            description=text(form, "description"),
            mode=text(form, "mode"),
            src_registry=text(form, "src_registry"),
            dest_registry=text(form, "dest_registry"),
            name_filter=text(form, "name_filter").strip(),
            tag_filter=text(form, "tag_filter").strip(),
            tag_decoration=text(form, "tag_decoration") or Decoration.MATCHES.value,
            label_filter=text(form, "label_filter").strip(),
            label_decoration=text(form, "label_decoration") or Decoration.MATCHES.value,
            resource_filter=text(form, "resource_filter"),
            dest_namespace=text(form, "dest_namespace").strip(),
            replace_count=text(form, "replace_count"),
            trigger_type=text(form, "trigger_type"),
            cron=text(form, "cron").strip(),
            timezone=text(form, "timezone").strip(),
            poll_interval=text(form, "poll_interval").strip(),
            override=bool(text(form, "override")),
            deletion=bool(text(form, "deletion")),
            speed=text(form, "speed").strip(),
            speed_unit=text(form, "speed_unit") or "kbps",
            copy_by_chunk=bool(text(form, "copy_by_chunk")),
            single_active=bool(text(form, "single_active")),
            enabled=bool(text(form, "enabled")),
        )

    def filter_fields(self) -> list[tuple[str, str | None]]:
        """The (value field, decoration field) of each filter ``to_policy`` sends, in its order:
        ``filters[i]`` in a domain error is the i-th of these."""
        return [_FILTER_FIELDS[item.type] for item in self._filters()]

    def to_policy(self, stored: Policy | None, *, creator: str, now: datetime, has_local: bool) -> Policy:
        """The rule to store; ``InvalidField`` for what the form alone can tell is wrong (the store
        validates the rest). Filters of a stored rule beyond the first of each kind (set through the
        API) are kept."""
        src, dest = self._registry_ids(has_local=has_local)
        kind = enum_member("trigger.type", TriggerType, self.trigger_type)
        trigger = Trigger(
            kind,
            cron=(self.cron or None) if kind is TriggerType.SCHEDULED else None,
            timezone=(self.timezone or None) if kind is TriggerType.SCHEDULED else None,
            poll_interval=_optional_whole("trigger.poll_interval", self.poll_interval)
            if kind is TriggerType.EVENT_BASED
            else None,
        )
        return Policy(
            id=stored.id if stored else 0,
            name=self.name,
            description=self.description,
            creator=stored.creator if stored else creator,
            src_registry_id=src,
            dest_registry_id=dest,
            dest_namespace=self.dest_namespace,
            dest_namespace_replace_count=_whole("dest_namespace_replace_count", self.replace_count),
            filters=self._filters() + kept_filters(stored),
            trigger=trigger,
            deletion=self.deletion,
            override=self.override,
            enabled=self.enabled,
            speed=self._speed_kbit(),
            copy_by_chunk=self.copy_by_chunk,
            single_active_replication=self.single_active,
            creation_time=stored.creation_time if stored else now,
            update_time=now,
        )

    def _filters(self) -> tuple[Filter, ...]:
        filters: list[Filter] = []
        if self.name_filter:
            filters.append(Filter(FilterType.NAME, self.name_filter))
        if self.tag_filter:
            decoration = enum_member("filters.tag.decoration", Decoration, self.tag_decoration)
            filters.append(Filter(FilterType.TAG, self.tag_filter, decoration))
        labels = tuple(item.strip() for item in self.label_filter.split(",") if item.strip())
        if labels:
            decoration = enum_member("filters.label.decoration", Decoration, self.label_decoration)
            filters.append(Filter(FilterType.LABEL, labels, decoration))
        if self.resource_filter:
            filters.append(Filter(FilterType.RESOURCE, self.resource_filter))
        return tuple(filters)

    def _registry_ids(self, *, has_local: bool) -> tuple[int, int]:
        mode = enum_member("mode", Direction, self.mode)
        src = _registry_id("src_registry_id", self.src_registry, has_local=has_local)
        dest = _registry_id("dest_registry_id", self.dest_registry, has_local=has_local)
        actual = direction_of(src, dest)
        if actual is mode or src == dest:
            return src, dest  # the same registry on both sides: the domain says so
        if mode is Direction.PUSH:
            raise InvalidField(
                "src_registry_id",
                "a push-based rule copies from Local",
                hint="choose Local as the source registry, or the mode that fits the registries",
            )
        if mode is Direction.PULL:
            raise InvalidField(
                "dest_registry_id",
                "a pull-based rule copies into Local",
                hint="choose Local as the destination registry, or the mode that fits the registries",
            )
        field = "src_registry_id" if src == LOCAL_REGISTRY_ID else "dest_registry_id"
        raise InvalidField(
            field,
            "is Local, but the mode is remote to remote",
            hint="choose two registry endpoints, or the push-based or pull-based mode",
        )

    def _speed_kbit(self) -> int:
        amount = _whole("speed", self.speed or UNLIMITED)
        if amount <= 0:
            return 0
        unit = SPEED_UNITS.get(self.speed_unit)
        if unit is None:
            raise InvalidField("speed", f"{self.speed_unit!r} is not a unit", hint="use Kbps or Mbps")
        return amount * unit


def kept_filters(stored: Policy | None) -> tuple[Filter, ...]:
    """A stored rule's filters that the form has no field for: all but the first of each kind."""
    if stored is None:
        return ()
    return tuple(item for kind in FilterType for item in stored.filters_of(kind)[1:])


def rule_errors(error: FerryError, entered: RuleForm) -> FormErrors:
    """``error`` next to the form field it is about, else for the form as a whole."""
    if isinstance(error, RecordConflict):
        return FormErrors({"name": str(error)})
    if not isinstance(error, InvalidField):
        return FormErrors(general=str(error))
    field = _DOMAIN_FIELDS.get(error.field, error.field)
    found = _FILTER_PATH.match(error.field)
    if found:
        fields = entered.filter_fields()
        index = int(found.group(1))
        if index >= len(fields):  # one of the kept filters: the form has no field for it
            return FormErrors(general=str(error))
        value_field, decoration_field = fields[index]
        field = decoration_field if found.group(2) == "decoration" and decoration_field else value_field
    elif error.field.startswith("filters."):  # the form's own check of a decoration
        field = "tag_decoration" if ".tag." in error.field else "label_decoration"
    if field not in RuleForm.__dataclass_fields__:
        return FormErrors(general=str(error))
    return FormErrors({field: str(error)})


def _registry_id(field: str, value: str, *, has_local: bool) -> int:
    if not value.strip():
        raise InvalidField(
            field,
            "no registry is chosen",
            hint="choose one; add endpoints under Administration → Registries → NEW ENDPOINT",
        )
    registry_id = _whole(field, value)
    if registry_id == LOCAL_REGISTRY_ID and not has_local:
        raise InvalidField(
            field,
            "is Local, but this ferry runs without a local registry",
            hint="choose a registry endpoint, or restart ferry serve with a local registry",
        )
    return registry_id


def _optional_whole(field: str, value: str) -> int | None:
    return _whole(field, value) if value else None


def _whole(field: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidField(field, f"{value!r} is not a whole number", hint="type digits only") from None


def _speed_text(speed: int) -> tuple[str, str]:
    if speed <= 0:
        return UNLIMITED, "kbps"
    if speed % SPEED_UNITS["mbps"] == 0:
        return str(speed // SPEED_UNITS["mbps"]), "mbps"
    return str(speed), "kbps"


def _value_text(item: Filter | None) -> str:
    if item is None:
        return ""
    return ", ".join(item.value) if isinstance(item.value, tuple) else item.value


def _decoration_text(item: Filter | None) -> str:
    return item.decoration.value if item is not None and item.decoration else Decoration.MATCHES.value
