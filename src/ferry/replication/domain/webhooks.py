"""Outgoing webhooks as values: policies in Harbor's shape, their targets, the event types, and the
deliveries of the delivery log.

A webhook policy says which events go where: ``event_types`` (Harbor's ``REPLICATION`` per task,
ferry's ``REPLICATION_FINISHED`` and ``REPLICATION_FAILED`` once per execution) and ``targets``,
each an HTTP endpoint (Harbor's ``Default`` or ``CloudEvents`` payload) or a Slack incoming
webhook. A target's ``auth_header`` is a secret: ``repr`` never shows it and ``masked`` replaces it
with Harbor's ``*****`` for API responses. Pure values and rules; no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from ferry.replication.domain.fields import InvalidField, check_name, enum_member, utc_time
from ferry.replication.domain.registry import SECRET_MASK

NAME_LIMIT = 256
ADDRESS_LIMIT = 2048


class EventType(StrEnum):
    REPLICATION = "REPLICATION"
    """Harbor's event: one per task when the task ends (optional, for Harbor compatibility)."""
    REPLICATION_FINISHED = "REPLICATION_FINISHED"
    """ferry: an execution ended (Succeed, Stopped, or Failed when REPLICATION_FAILED is not chosen)."""
    REPLICATION_FAILED = "REPLICATION_FAILED"
    """ferry: an execution ended Failed."""


class TargetType(StrEnum):
    HTTP = "http"
    SLACK = "slack"


class PayloadFormat(StrEnum):
    DEFAULT = "Default"
    CLOUD_EVENTS = "CloudEvents"


class DeliveryStatus(StrEnum):
    PENDING = "Pending"
    """Waiting for its (next) attempt, or being sent."""
    SUCCESS = "Success"
    FAILED = "Failed"
    """Every attempt failed, or the receiver refused it in a way another attempt cannot cure."""


@dataclass(frozen=True, kw_only=True)
class WebhookTarget:
    type: TargetType = TargetType.HTTP
    address: str
    auth_header: str = field(default="", repr=False)
    """Sent as the ``Authorization`` header of every request to an HTTP target."""
    skip_cert_verify: bool = False
    payload_format: PayloadFormat = PayloadFormat.DEFAULT

    def masked(self) -> WebhookTarget:
        return replace(self, auth_header=SECRET_MASK if self.auth_header else "")


@dataclass(frozen=True, kw_only=True)
class WebhookPolicy:
    id: int
    name: str
    description: str = ""
    enabled: bool = True
    event_types: tuple[EventType, ...]
    targets: tuple[WebhookTarget, ...]
    creator: str = ""
    creation_time: datetime
    update_time: datetime

    def masked(self) -> WebhookPolicy:
        return replace(self, targets=tuple(target.masked() for target in self.targets))

    def selects(self, event_type: EventType) -> bool:
        return event_type in self.event_types


def validate_webhook_policy(policy: WebhookPolicy) -> WebhookPolicy:
    """The policy with normalised fields, or ``InvalidField`` naming the first bad field."""
    if not policy.event_types:
        raise InvalidField(
            "event_types", "must not be empty", hint=f"choose from: {', '.join(e.value for e in EventType)}"
        )
    event_types = tuple(
        dict.fromkeys(
            enum_member(f"event_types[{index}]", EventType, kind)
            for index, kind in enumerate(policy.event_types)
        )
    )
    if not policy.targets:
        raise InvalidField("targets", "must not be empty", hint="give at least one target with an address")
    return replace(
        policy,
        name=check_name("name", policy.name, limit=NAME_LIMIT),
        description=policy.description.strip(),
        event_types=event_types,
        targets=tuple(
            _check_target(f"targets[{index}]", target) for index, target in enumerate(policy.targets)
        ),
        creation_time=utc_time("creation_time", policy.creation_time),
        update_time=utc_time("update_time", policy.update_time),
    )


def _check_target(where: str, target: WebhookTarget) -> WebhookTarget:
    kind = enum_member(f"{where}.type", TargetType, target.type)
    payload_format = enum_member(f"{where}.payload_format", PayloadFormat, target.payload_format)
    if kind is TargetType.SLACK and payload_format is not PayloadFormat.DEFAULT:
        raise InvalidField(
            f"{where}.payload_format",
            f"{payload_format.value} is not available for a slack target",
            hint="leave payload_format at Default: Slack receives its own message format",
        )
    auth_header = target.auth_header.strip()
    if any(unicodedata.category(char) == "Cc" for char in auth_header):
        # a newline would let the value start another header
        raise InvalidField(
            f"{where}.auth_header", "contains a control character", hint="give the header value on one line"
        )
    return replace(
        target,
        type=kind,
        address=check_address(f"{where}.address", target.address),
        auth_header=auth_header,
        payload_format=payload_format,
    )


def check_address(where: str, address: str) -> str:
    """An absolute ``http(s)://host[:port]/path`` URL."""
    text = address.strip()
    hint = "write the receiver's URL, e.g. https://hooks.example.com/ferry"
    if not text:
        raise InvalidField(where, "must not be empty", hint=hint)
    if len(text) > ADDRESS_LIMIT:
        raise InvalidField(where, f"is longer than {ADDRESS_LIMIT} characters", hint=hint)
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in text):
        raise InvalidField(where, "contains spaces or control characters", hint=hint)
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise InvalidField(where, f"{text!r} is not an http:// or https:// URL", hint=hint)
    try:
        parts.port  # noqa: B018  # raises for a port out of range or not a number
    except ValueError:
        raise InvalidField(where, f"{text!r} has an invalid port", hint=hint) from None
    if parts.username or parts.password:
        raise InvalidField(
            where, "carries a user name or password", hint="remove user:password@ and use auth_header instead"
        )
    return text


@dataclass(frozen=True, kw_only=True)
class NewDelivery:
    """A delivery as the outbox creates it: the body is built once, so every attempt sends the
    same bytes (and a CloudEvents id stays the same across retries)."""

    policy_id: int
    target_index: int
    target: WebhookTarget
    event_type: EventType
    execution_id: int
    task_id: int = 0
    """0 for the once-per-execution events."""
    payload: str


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt of the delivery log: when, and the receiver's status or why none came."""

    time: datetime
    response_status: int | None = None
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class Delivery:
    id: int
    policy_id: int
    target_index: int
    target_type: TargetType
    address: str
    payload_format: PayloadFormat
    event_type: EventType
    execution_id: int
    task_id: int
    payload: str
    status: DeliveryStatus
    attempts: int
    next_try: datetime | None
    last_error: str
    response_status: int | None
    history: tuple[DeliveryAttempt, ...] = ()
    creation_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt went: ``response_status`` is None when no HTTP answer came back."""

    delivered: bool
    response_status: int | None = None
    error: str = ""
    retryable: bool = True
