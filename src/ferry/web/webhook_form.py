"""The New Webhook / Edit form: fields → a ``WebhookPolicy``, and the domain's errors back next to
the fields they are about.

Targets are rows of fields named ``targets-<row>-<field>``; a page carries ``target_rows`` of them
(ADD TARGET posts the form back with one more row, so no script is needed), and a row whose address
is left empty is no target. A row shows a stored target at its own position, so on edit an empty
Auth Header keeps the header stored for that row; the stored header is never put into the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from starlette.datastructures import FormData

from ferry.errors import FerryError
from ferry.replication.domain.fields import InvalidField, enum_member
from ferry.replication.domain.webhooks import (
    EventType,
    PayloadFormat,
    TargetType,
    WebhookPolicy,
    WebhookTarget,
)
from ferry.web.forms import FormErrors, form_errors, text

MAX_TARGET_ROWS = 20
DEFAULT_EVENTS = (EventType.REPLICATION_FINISHED.value, EventType.REPLICATION_FAILED.value)
_TARGET_FIELD = re.compile(r"targets\[(\d+)\]\.(\w+)")
_FORM_FIELDS = {"skip_cert_verify": "verify_cert"}


@dataclass(frozen=True)
class TargetRow:
    """One target's fields as typed (``auth_header`` is what was typed, never a stored one)."""

    address: str = ""
    type: str = TargetType.HTTP.value
    payload_format: str = PayloadFormat.DEFAULT.value
    auth_header: str = field(default="", repr=False)
    verify_cert: bool = True
    clear_auth: bool = False
    stored_header: bool = False
    """A header is stored for this row: an empty field keeps it."""

    @property
    def blank(self) -> bool:
        return not self.address.strip()


@dataclass(frozen=True)
class WebhookForm:
    name: str = ""
    description: str = ""
    enabled: bool = True
    event_types: tuple[str, ...] = DEFAULT_EVENTS
    targets: tuple[TargetRow, ...] = (TargetRow(),)

    @classmethod
    def of(cls, webhook: WebhookPolicy) -> WebhookForm:
        """A stored policy to edit."""
        return cls(
            name=webhook.name,
            description=webhook.description,
            enabled=webhook.enabled,
            event_types=tuple(kind.value for kind in webhook.event_types),
            targets=tuple(
                TargetRow(
                    address=target.address,
                    type=target.type.value,
                    payload_format=target.payload_format.value,
                    verify_cert=not target.skip_cert_verify,
                    stored_header=bool(target.auth_header),
                )
                for target in webhook.targets
            )
            or (TargetRow(),),
        )

    @classmethod
    def parse(cls, form: FormData, *, stored: WebhookPolicy | None) -> WebhookForm:
        try:
            rows = int(text(form, "target_rows") or "1")
        except ValueError:
            rows = 1
        stored_targets = stored.targets if stored else ()
        return cls(
            name=text(form, "name"),
            description=text(form, "description"),
            enabled=bool(text(form, "enabled")),
            event_types=tuple(value for value in form.getlist("event_types") if isinstance(value, str)),
            targets=tuple(
                _parse_row(form, index, stored_targets[index] if index < len(stored_targets) else None)
                for index in range(max(1, min(rows, MAX_TARGET_ROWS)))
            ),
        )

    def with_another_target(self) -> WebhookForm:
        if len(self.targets) >= MAX_TARGET_ROWS:
            return self
        return replace(self, targets=(*self.targets, TargetRow()))

    def kept_rows(self) -> list[int]:
        """The rows that are targets, in order: the domain's ``targets[k]`` is row ``kept_rows()[k]``."""
        return [index for index, row in enumerate(self.targets) if not row.blank]

    def to_policy(self, stored: WebhookPolicy | None, *, creator: str, now: datetime) -> WebhookPolicy:
        """The policy to save (the store validates it)."""
        return WebhookPolicy(
            id=stored.id if stored else 0,
            name=self.name,
            description=self.description,
            enabled=self.enabled,
            event_types=tuple(
                enum_member(f"event_types[{index}]", EventType, kind)
                for index, kind in enumerate(self.event_types)
            ),
            targets=tuple(
                self._target(position, row, stored)
                for position, row in enumerate(self.targets[index] for index in self.kept_rows())
            ),
            creator=stored.creator if stored else creator,
            creation_time=stored.creation_time if stored else now,
            update_time=now,
        )

    def _target(self, position: int, row: TargetRow, stored: WebhookPolicy | None) -> WebhookTarget:
        where = f"targets[{position}]"
        index = self.kept_rows()[position]
        auth_header = row.auth_header
        if row.clear_auth:
            auth_header = ""
        elif not auth_header and stored is not None and index < len(stored.targets):
            auth_header = stored.targets[index].auth_header  # left empty on edit: unchanged
        return WebhookTarget(
            type=enum_member(f"{where}.type", TargetType, row.type),
            address=row.address,
            auth_header=auth_header,
            skip_cert_verify=not row.verify_cert,
            payload_format=enum_member(f"{where}.payload_format", PayloadFormat, row.payload_format),
        )

    def errors(self, error: FerryError) -> FormErrors:
        """``error`` next to its field: ``targets[1].address`` stands next to the address of the
        second row that is a target."""
        if not isinstance(error, InvalidField):
            return form_errors(error)
        name = error.field
        found = _TARGET_FIELD.fullmatch(name)
        rows = self.kept_rows()
        if found and int(found.group(1)) < len(rows):
            row, part = rows[int(found.group(1))], found.group(2)
            name = f"targets-{row}-{_FORM_FIELDS.get(part, part)}"
        elif name.startswith("event_types"):
            name = "event_types"
        return FormErrors({name: str(error)})


def _parse_row(form: FormData, index: int, stored: WebhookTarget | None) -> TargetRow:
    prefix = f"targets-{index}-"
    return TargetRow(
        address=text(form, prefix + "address").strip(),
        type=text(form, prefix + "type") or TargetType.HTTP.value,
        payload_format=text(form, prefix + "payload_format") or PayloadFormat.DEFAULT.value,
        auth_header=text(form, prefix + "auth_header"),
        verify_cert=bool(text(form, prefix + "verify_cert")),
        clear_auth=bool(text(form, prefix + "clear_auth")),
        stored_header=bool(stored and stored.auth_header),
    )
