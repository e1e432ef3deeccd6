"""The event receivers: the distribution registry's notifications and Harbor's webhooks.

They are outside ``/api/v2.0`` and its sign-in: senders authenticate with the shared secret kept in
``<data dir>/notify.token`` (the managed registry sends ``Authorization: Bearer <token>``; a Harbor
webhook policy's auth header may be ``Bearer <token>`` or the token alone), compared in constant
time. A receiver saves the events and answers at once (the registry retries anything but 2xx and
holds back later events meanwhile); the event processor starts the executions.

Which registry an event comes from: registry notifications come from the local registry (id 0);
a Harbor event from every registry whose URL has the host its ``resource_url`` names (Harbor
writes its external URL's host there), the local registry included.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ferry.api.context import Context
from ferry.api.errors import ApiError
from ferry.replication.domain.events import ParsedEvents, parse_harbor_webhook, parse_registry_envelope
from ferry.replication.domain.registry import LOCAL_REGISTRY_ID
from ferry.services import Services

REGISTRY_PATH = "/service/notifications/registry"
HARBOR_PATH = "/service/notifications/harbor"
BODY_LIMIT = 1024 * 1024

log = logging.getLogger("ferry.events")

router = APIRouter(include_in_schema=False)


@router.post(REGISTRY_PATH)
async def registry_notifications(request: Request, context: Context) -> JSONResponse:
    _authenticate(context, request.headers.get("authorization"), bearer_only=True)
    parsed = parse_registry_envelope(await _json_body(request), registry_id=LOCAL_REGISTRY_ID)
    return await _receive(context, parsed, "registry notification")


@router.post(HARBOR_PATH)
async def harbor_webhook(request: Request, context: Context) -> JSONResponse:
    _authenticate(context, request.headers.get("authorization"), bearer_only=False)
    parsed = parse_harbor_webhook(await _json_body(request))
    return await _receive(context, parsed, "Harbor webhook")


async def _receive(context: Services, parsed: ParsedEvents, sender: str) -> JSONResponse:
    if context.events is None:
        raise ApiError(503, "event-based replication is not running in this process")
    for reason in parsed.ignored:
        log.debug("%s: ignored %s", sender, reason)
    new = await context.events.receive(parsed.events)
    return JSONResponse(
        {
            "accepted": len(new),
            "duplicates": len(parsed.events) - len(new),
            "ignored": len(parsed.ignored),
        }
    )


def _authenticate(context: Services, header: str | None, *, bearer_only: bool) -> None:
    expected = context.notify_token
    given = (header or "").strip()
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() == "bearer":
        given = credentials.strip()
    elif bearer_only:
        given = ""
    if expected is None or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "the notification token is missing or wrong: send Authorization: Bearer <the token in "
            "<ferry data dir>/notify.token>",
            headers={"WWW-Authenticate": 'Bearer realm="ferry-notifications"'},
        )


async def _json_body(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        raise ApiError(413, f"the event body is larger than {BODY_LIMIT} bytes")
    body = await request.body()
    if len(body) > BODY_LIMIT:
        raise ApiError(413, f"the event body is larger than {BODY_LIMIT} bytes")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ApiError(400, f"the event body is not JSON: {exc}") from exc
