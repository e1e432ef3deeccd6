"""An announcement as the bytes a target receives: Harbor's Default JSON, a CloudEvents 1.0
structured-mode event, or a Slack message.

CloudEvents types are Harbor's where Harbor has the event (``harbor.replication.status.changed``
for REPLICATION) and ferry's own otherwise (``ferry.replication.finished``,
``ferry.replication.failed``, ``ferry.webhook.test``). The event's ``id`` is made when the body is,
and the body is stored with the delivery, so a retry repeats the same id and receivers can drop
duplicates.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ferry.notify.events import TEST_EVENT, Announcement
from ferry.replication.domain.webhooks import EventType, PayloadFormat, TargetType, WebhookTarget

JSON = "application/json"
CLOUD_EVENTS_JSON = "application/cloudevents+json"

CLOUD_EVENT_TYPES = {
    EventType.REPLICATION.value: "harbor.replication.status.changed",
    EventType.REPLICATION_FINISHED.value: "ferry.replication.finished",
    EventType.REPLICATION_FAILED.value: "ferry.replication.failed",
    TEST_EVENT: "ferry.webhook.test",
}


def render(target: WebhookTarget, announcement: Announcement, *, policy_id: int) -> str:
    """The request body for ``target``."""
    if target.type is TargetType.SLACK:
        body = slack_body(announcement)
    elif target.payload_format is PayloadFormat.CLOUD_EVENTS:
        body = cloud_event_body(announcement, source=f"/webhook/policies/{policy_id}")
    else:
        body = default_body(announcement)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def content_type(target: WebhookTarget) -> str:
    if target.type is TargetType.HTTP and target.payload_format is PayloadFormat.CLOUD_EVENTS:
        return CLOUD_EVENTS_JSON
    return JSON


def default_body(announcement: Announcement) -> dict[str, Any]:
    """Harbor's ``{type, occur_at, operator, event_data}``; ``occur_at`` in Unix seconds."""
    return {
        "type": announcement.event_type,
        "occur_at": int(announcement.occur_at.timestamp()),
        "operator": announcement.operator,
        "event_data": announcement.event_data,
    }


def cloud_event_body(announcement: Announcement, *, source: str) -> dict[str, Any]:
    """CloudEvents 1.0, structured mode, with Harbor's ``operator`` extension attribute."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": CLOUD_EVENT_TYPES[announcement.event_type],
        "time": announcement.occur_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "datacontenttype": JSON,
        "operator": announcement.operator,
        "data": announcement.event_data,
    }


def slack_body(announcement: Announcement) -> dict[str, Any]:
    """A readable message: ``text`` for notifications, one ``blocks`` section for the channel."""
    lines = [f"*{_escape(announcement.headline)}*", *(_escape(line) for line in announcement.details)]
    return {
        "text": announcement.headline,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
    }


def _escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
