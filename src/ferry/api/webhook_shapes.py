"""Webhook policies and deliveries in the API: request bodies (Harbor's ``WebhookPolicy`` fields),
the response shapes the OpenAPI document describes, and the JSON views.

As with registries, a target's ``auth_header`` is write-only: GET shows ``*****``, and a PUT that
sends ``*****`` back keeps the stored header.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from ferry.api.responses import Shape
from ferry.api.schemas import Body, Int64
from ferry.api.views import harbor_time
from ferry.notify.notifier import TargetCheck
from ferry.replication.domain.fields import InvalidField, enum_member
from ferry.replication.domain.registry import SECRET_MASK
from ferry.replication.domain.webhooks import (
    Delivery,
    EventType,
    PayloadFormat,
    TargetType,
    WebhookPolicy,
    WebhookTarget,
)

# --- request bodies ------------------------------------------------------------------------------


class WebhookTargetBody(Body):
    type: str = TargetType.HTTP.value
    address: str
    auth_header: str = ""
    skip_cert_verify: bool = False
    payload_format: str = PayloadFormat.DEFAULT.value


class WebhookPolicyBody(Body):
    """``POST``/``PUT /webhook/policies``. Read-only fields a GET returned are accepted and ignored,
    and so is Harbor's ``project_id`` (ferry has no projects)."""

    name: str
    description: str = ""
    enabled: bool = True
    event_types: list[str]
    targets: list[WebhookTargetBody]
    id: Int64 | None = None
    project_id: Int64 | None = None
    creator: str | None = None
    creation_time: str | None = None
    update_time: str | None = None

    def to_policy(self, *, creator: str, now: datetime, stored: WebhookPolicy | None = None) -> WebhookPolicy:
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
                _target(f"targets[{index}]", index, item, stored) for index, item in enumerate(self.targets)
            ),
            creator=stored.creator if stored else creator,
            creation_time=stored.creation_time if stored else now,
            update_time=now,
        )


def _target(where: str, index: int, body: WebhookTargetBody, stored: WebhookPolicy | None) -> WebhookTarget:
    auth_header = body.auth_header
    if auth_header == SECRET_MASK:
        auth_header = _stored_header(where, index, body.address, stored)
    return WebhookTarget(
        type=enum_member(f"{where}.type", TargetType, body.type or TargetType.HTTP.value),
        address=body.address,
        auth_header=auth_header,
        skip_cert_verify=body.skip_cert_verify,
        payload_format=enum_member(
            f"{where}.payload_format", PayloadFormat, body.payload_format or PayloadFormat.DEFAULT.value
        ),
    )


def _stored_header(where: str, index: int, address: str, stored: WebhookPolicy | None) -> str:
    """``*****`` stands for the header stored for this target: the one at the same position with
    the same address, else the one with the same address."""
    targets = [t for t in (stored.targets if stored else ()) if t.auth_header]
    at_index = list(stored.targets[index : index + 1]) if stored else []
    same = [t for t in at_index if t.auth_header and t.address == address.strip()]
    same = same or [t for t in targets if t.address == address.strip()]
    if not same:
        raise InvalidField(
            f"{where}.auth_header",
            f"{SECRET_MASK} stands for a stored header, but this target has none stored",
            hint="give the header value, or an empty string for none",
        )
    return same[0].auth_header


# --- responses ------------------------------------------------------------------------------------


class WebhookTargetShape(Shape):
    type: str = Field(description="http or slack")
    address: str
    auth_header: str = Field(description='"*****" when a header is stored, else ""')
    skip_cert_verify: bool
    payload_format: str = Field(description="Default or CloudEvents")


class WebhookPolicyShape(Shape):
    id: int
    name: str
    description: str
    enabled: bool
    event_types: list[str]
    targets: list[WebhookTargetShape]
    creator: str
    creation_time: datetime | None
    update_time: datetime | None


class DeliveryAttemptShape(Shape):
    time: datetime | None
    response_status: int | None = Field(description="The receiver's HTTP status; null when none came")
    error: str


class WebhookDeliveryShape(Shape):
    id: int
    policy_id: int
    event_type: str
    execution_id: int
    task_id: int = Field(description="The task of a REPLICATION event; 0 for an execution's event")
    target_index: int
    target_type: str
    address: str
    payload_format: str
    status: str = Field(description="Pending, Success or Failed")
    attempts: int
    next_try: datetime | None = Field(description="When the next attempt is due (Pending only)")
    last_error: str
    response_status: int | None
    history: list[DeliveryAttemptShape]
    payload: Any = Field(description="The body sent, as JSON")
    creation_time: datetime | None
    update_time: datetime | None


class PayloadFormats(Shape):
    notify_type: str
    formats: list[str]


class SupportedWebhookEventTypes(Shape):
    event_type: list[str]
    notify_type: list[str]
    payload_formats: list[PayloadFormats]


class WebhookTestResult(Shape):
    address: str
    type: str
    payload_format: str
    status: str = Field(description="Success or Failed")
    response_status: int | None
    error: str


# --- views ----------------------------------------------------------------------------------------


def webhook_policy_json(policy: WebhookPolicy) -> dict[str, Any]:
    shown = policy.masked()
    return {
        "id": shown.id,
        "name": shown.name,
        "description": shown.description,
        "enabled": shown.enabled,
        "event_types": [kind.value for kind in shown.event_types],
        "targets": [
            {
                "type": target.type.value,
                "address": target.address,
                "auth_header": target.auth_header,
                "skip_cert_verify": target.skip_cert_verify,
                "payload_format": target.payload_format.value,
            }
            for target in shown.targets
        ],
        "creator": shown.creator,
        "creation_time": harbor_time(shown.creation_time),
        "update_time": harbor_time(shown.update_time),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "policy_id": delivery.policy_id,
        "event_type": delivery.event_type.value,
        "execution_id": delivery.execution_id,
        "task_id": delivery.task_id,
        "target_index": delivery.target_index,
        "target_type": delivery.target_type.value,
        "address": delivery.address,
        "payload_format": delivery.payload_format.value,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_try": harbor_time(delivery.next_try),
        "last_error": delivery.last_error,
        "response_status": delivery.response_status,
        "history": [
            {"time": harbor_time(item.time), "response_status": item.response_status, "error": item.error}
            for item in delivery.history
        ],
        "payload": json.loads(delivery.payload),
        "creation_time": harbor_time(delivery.creation_time),
        "update_time": harbor_time(delivery.update_time),
    }


def supported_events_json() -> dict[str, Any]:
    """Harbor's ``SupportedWebhookEventTypes``."""
    return {
        "event_type": [kind.value for kind in EventType],
        "notify_type": [kind.value for kind in TargetType],
        "payload_formats": [
            {"notify_type": TargetType.HTTP.value, "formats": [item.value for item in PayloadFormat]},
            {"notify_type": TargetType.SLACK.value, "formats": [PayloadFormat.DEFAULT.value]},
        ],
    }


def target_check_json(check: TargetCheck) -> dict[str, Any]:
    result = check.result
    return {
        "address": check.target.address,
        "type": check.target.type.value,
        "payload_format": check.target.payload_format.value,
        "status": "Success" if result.delivered else "Failed",
        "response_status": result.response_status,
        "error": result.error,
    }
