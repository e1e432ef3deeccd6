"""``/webhook``: outgoing webhook policies, their delivery log, a test event, the event types.

Harbor keeps webhook policies per project (``/projects/{project}/webhook/policies``); ferry has no
projects, so its policies live at ``/webhook/policies`` and apply to every replication rule.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ferry.api.context import Context, SignedIn
from ferry.api.listing import Page, PageSize, QText, SortText, list_query, page_response
from ferry.api.query import FieldKind
from ferry.api.responses import created, done, error_responses, listed
from ferry.api.schemas import IdPath
from ferry.api.webhook_shapes import (
    SupportedWebhookEventTypes,
    WebhookDeliveryShape,
    WebhookPolicyBody,
    WebhookPolicyShape,
    WebhookTestResult,
    delivery_json,
    supported_events_json,
    target_check_json,
    webhook_policy_json,
)
from ferry.services import webhooks

router = APIRouter(tags=["webhook"])

FIELDS = {
    "id": FieldKind.INTEGER,
    "name": FieldKind.STRING,
    "description": FieldKind.STRING,
    "creator": FieldKind.STRING,
    "enabled": FieldKind.BOOLEAN,
    "creation_time": FieldKind.TIME,
    "update_time": FieldKind.TIME,
}
DELIVERY_FIELDS = {
    "id": FieldKind.INTEGER,
    "event_type": FieldKind.STRING,
    "execution_id": FieldKind.INTEGER,
    "task_id": FieldKind.INTEGER,
    "status": FieldKind.STRING,
    "address": FieldKind.STRING,
    "creation_time": FieldKind.TIME,
    "update_time": FieldKind.TIME,
}
_EVERYTHING = 100_000
"""Filtering deliveries by ``q`` or sorting them happens in memory; they go with their executions
(50 per rule), so this is plenty."""


@router.get(
    "/webhook/policies",
    summary="List webhook policies",
    response_model=list[WebhookPolicyShape],
    responses={**listed("webhook policies"), **error_responses(400)},
)
async def list_webhook_policies(
    request: Request,
    context: Context,
    principal: SignedIn,
    q: QText = None,
    sort: SortText = None,
    page: Page = None,
    page_size: PageSize = None,
) -> JSONResponse:
    query = list_query(q, sort, page, page_size, FIELDS)
    policies = await context.store.webhooks.list_policies()
    return page_response(request, [webhook_policy_json(policy) for policy in policies], query)


@router.post(
    "/webhook/policies",
    status_code=201,
    summary="Create a webhook policy",
    response_class=Response,
    responses={**created("Webhook policy"), **error_responses(400, 409)},
)
async def create_webhook_policy(body: WebhookPolicyBody, context: Context, principal: SignedIn) -> Response:
    policy = await context.store.webhooks.add(body.to_policy(creator=principal.name, now=context.clock()))
    return Response(status_code=201, headers={"Location": f"/api/v2.0/webhook/policies/{policy.id}"})


@router.get(
    "/webhook/policies/{id}",
    summary="Get a webhook policy",
    response_model=WebhookPolicyShape,
    responses=error_responses(400, 404),
)
async def get_webhook_policy(id: IdPath, context: Context, principal: SignedIn) -> JSONResponse:
    return JSONResponse(webhook_policy_json(await context.store.webhooks.get(id)))


@router.put(
    "/webhook/policies/{id}",
    summary="Replace a webhook policy",
    description="Every field is replaced; an auth_header of `*****` keeps the stored header.",
    response_class=Response,
    responses={**done("Replaced"), **error_responses(400, 404, 409)},
)
async def update_webhook_policy(
    id: IdPath, body: WebhookPolicyBody, context: Context, principal: SignedIn
) -> Response:
    stored = await context.store.webhooks.get(id)
    await context.store.webhooks.update(
        body.to_policy(creator=principal.name, now=context.clock(), stored=stored)
    )
    return Response(status_code=200)


@router.delete(
    "/webhook/policies/{id}",
    summary="Delete a webhook policy and its delivery log",
    response_class=Response,
    responses={**done("Deleted"), **error_responses(400, 404)},
)
async def delete_webhook_policy(id: IdPath, context: Context, principal: SignedIn) -> Response:
    await context.store.webhooks.delete(id)
    return Response(status_code=200)


@router.get(
    "/webhook/policies/{id}/deliveries",
    summary="A webhook policy's delivery log (ferry)",
    description="Newest first: each event sent to each target, its status, attempts and the body sent.",
    response_model=list[WebhookDeliveryShape],
    responses={**listed("deliveries"), **error_responses(400, 404)},
)
async def list_deliveries(
    request: Request,
    id: IdPath,
    context: Context,
    principal: SignedIn,
    q: QText = None,
    sort: SortText = None,
    page: Page = None,
    page_size: PageSize = None,
) -> JSONResponse:
    query = list_query(q, sort, page, page_size, DELIVERY_FIELDS)
    await context.store.webhooks.get(id)
    deliveries = context.store.deliveries
    if query.conditions or query.sort:
        everything, _ = await deliveries.list_deliveries(id, offset=0, limit=_EVERYTHING)
        return page_response(request, [delivery_json(item) for item in everything], query)
    shown, total = await deliveries.list_deliveries(id, offset=query.offset, limit=query.page_size)
    return page_response(request, [delivery_json(item) for item in shown], query, total=total)


@router.post(
    "/webhook/policies/{id}/test",
    summary="Send a test event to every target of a webhook policy now (ferry)",
    description="Each target's result; the event is sent once, not queued or retried, and not logged.",
    response_model=list[WebhookTestResult],
    responses=error_responses(400, 404),
)
async def test_webhook_policy(id: IdPath, context: Context, principal: SignedIn) -> JSONResponse:
    _, checks = await webhooks.send_test_event(context, id)
    return JSONResponse([target_check_json(check) for check in checks])


@router.get(
    "/webhook/events",
    summary="The event types, target types and payload formats webhook policies can use",
    response_model=SupportedWebhookEventTypes,
    responses=error_responses(),
)
async def get_supported_events(context: Context, principal: SignedIn) -> JSONResponse:
    return JSONResponse(supported_events_json())
