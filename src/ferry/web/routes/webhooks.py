"""Administration → Webhooks: the webhook policies with their last delivery; NEW WEBHOOK, EDIT,
DELETE, SEND TEST, and each policy's delivery history.

SEND TEST works without JavaScript (the list comes back with each target's result above it) and
with it (the script posts the same form with ``X-Ferry-Fragment`` and shows the returned results in
a live region). A delivery's error is the notifier's own message, after translated words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Response
from starlette.datastructures import FormData

from ferry.errors import InvalidInput, RecordConflict
from ferry.notify.notifier import TargetCheck
from ferry.replication.domain.registry import SECRET_MASK
from ferry.replication.domain.webhooks import (
    Delivery,
    EventType,
    PayloadFormat,
    TargetType,
    WebhookPolicy,
)
from ferry.services import webhooks as notifications
from ferry.web.forms import FormErrors, text
from ferry.web.routes.list_screen import ListScreen
from ferry.web.sessions import FlashKind
from ferry.web.templating import render_fragment
from ferry.web.visit import SignedInForm, SignedInVisit, Visit
from ferry.web.webhook_form import WebhookForm

router = APIRouter()

LIST_PATH = "/ui/webhooks"
SCREEN = ListScreen(LIST_PATH, nav="webhooks")
FRAGMENT_HEADER = "x-ferry-fragment"
HISTORY_PAGE_SIZE = 50
EVENT_ORDER = (EventType.REPLICATION_FINISHED, EventType.REPLICATION_FAILED, EventType.REPLICATION)
"""The guide's two events first; Harbor's per-task event is for Harbor's receivers."""


@dataclass(frozen=True)
class WebhookRow:
    webhook: WebhookPolicy
    last: Delivery | None


@router.get(LIST_PATH)
async def list_webhooks(visit: SignedInVisit) -> Response:
    return await _list_page(visit)


@router.get(LIST_PATH + "/new")
async def new_webhook(visit: SignedInVisit) -> Response:
    return _form_page(visit, WebhookForm(), stored=None)


@router.post(LIST_PATH + "/new")
async def post_new_webhook(visit: SignedInVisit, form: SignedInForm) -> Response:
    return await _submit(visit, form, stored=None)


@router.get(LIST_PATH + "/{webhook_id}/edit")
async def edit_webhook(visit: SignedInVisit, webhook_id: int) -> Response:
    stored = await visit.services.store.webhooks.get(webhook_id)
    return _form_page(visit, WebhookForm.of(stored), stored=stored)


@router.post(LIST_PATH + "/{webhook_id}/edit")
async def post_edit_webhook(visit: SignedInVisit, form: SignedInForm, webhook_id: int) -> Response:
    stored = await visit.services.store.webhooks.get(webhook_id)
    return await _submit(visit, form, stored=stored)


@router.post(LIST_PATH + "/{webhook_id}/delete")
async def delete_webhook(visit: SignedInVisit, form: SignedInForm, webhook_id: int) -> Response:
    """Without ``confirm=yes`` (no script to ask), a page that asks first."""
    webhooks = visit.services.store.webhooks
    webhook = await webhooks.get(webhook_id)
    return await SCREEN.delete(
        visit,
        form,
        delete=lambda: webhooks.delete(webhook_id),
        asking="webhooks/delete.html",
        title=visit.gettext("Confirm Webhook Deletion"),
        context={"webhook": webhook},
        deleted=visit.gettext("Webhook %(name)s deleted.", name=webhook.name),
    )


@router.post(LIST_PATH + "/{webhook_id}/test")
async def send_test(visit: SignedInVisit, form: SignedInForm, webhook_id: int) -> Response:
    """SEND TEST: a test event to every target now; each target's result."""
    webhook, checks = await notifications.send_test_event(visit.services, webhook_id)
    tested = {"tested": webhook, "checks": [_check(check, webhook) for check in checks]}
    if visit.request.headers.get(FRAGMENT_HEADER):
        return render_fragment(visit, "webhooks/_test_result.html", tested)
    return await _list_page(visit, tested)


@router.get(LIST_PATH + "/{webhook_id}/deliveries")
async def delivery_history(visit: SignedInVisit, webhook_id: int, page: int = 1) -> Response:
    store = visit.services.store
    webhook = await store.webhooks.get(webhook_id)
    page = max(1, page)
    deliveries, total = await store.deliveries.list_deliveries(
        webhook_id, offset=(page - 1) * HISTORY_PAGE_SIZE, limit=HISTORY_PAGE_SIZE
    )
    context = {
        "webhook": webhook,
        "deliveries": [(delivery, mask_secrets(delivery.last_error, webhook)) for delivery in deliveries],
        "page": page,
        "total": total,
        "last_page": max(1, -(-total // HISTORY_PAGE_SIZE)),
    }
    title = visit.gettext("Delivery history of %(name)s", name=webhook.name)
    return SCREEN.page(visit, "webhooks/deliveries.html", title, context)


def mask_secrets(message: str, webhook: WebhookPolicy) -> str:
    """``message`` without the policy's auth headers. The notifier masks them before it stores an
    error; this also covers a header set after the error was stored."""
    for target in webhook.targets:
        if target.auth_header:
            message = message.replace(target.auth_header, SECRET_MASK)
    return message


async def _list_page(visit: Visit, tested: dict[str, Any] | None = None) -> Response:
    store = visit.services.store
    rows = []
    for webhook in await store.webhooks.list_policies():
        newest, _ = await store.deliveries.list_deliveries(webhook.id, offset=0, limit=1)
        rows.append(WebhookRow(webhook, newest[0] if newest else None))
    context = {"rows": rows, "tested": None, "checks": [], **(tested or {})}
    return SCREEN.page(visit, "webhooks/list.html", visit.gettext("Webhooks"), context)


def _check(check: TargetCheck, webhook: WebhookPolicy) -> dict[str, Any]:
    result = check.result
    return {
        "target": check.target,
        "delivered": result.delivered,
        "response_status": result.response_status,
        "error": mask_secrets(result.error, webhook),
    }


async def _submit(visit: Visit, form: FormData, *, stored: WebhookPolicy | None) -> Response:
    entered = WebhookForm.parse(form, stored=stored)
    if text(form, "action") == "add_target":
        return _form_page(visit, entered.with_another_target(), stored=stored)
    principal = visit.principal.name if visit.principal else ""
    webhooks = visit.services.store.webhooks
    try:
        webhook = entered.to_policy(stored, creator=principal, now=visit.services.clock())
        if stored is None:
            saved = await webhooks.add(webhook)
            message = visit.gettext("Webhook %(name)s created.", name=saved.name)
        else:
            saved = await webhooks.update(webhook)
            message = visit.gettext("Webhook %(name)s updated.", name=saved.name)
    except (InvalidInput, RecordConflict) as exc:
        return _form_page(visit, entered, stored=stored, errors=entered.errors(exc), status=400)
    visit.flash(FlashKind.SUCCESS, message)
    return visit.redirect(LIST_PATH)


def _form_page(
    visit: Visit,
    entered: WebhookForm,
    *,
    stored: WebhookPolicy | None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    title = visit.gettext("New Webhook") if stored is None else visit.gettext("Edit Webhook")
    context = {
        "form": entered,
        "stored": stored,
        "action": LIST_PATH + ("/new" if stored is None else f"/{stored.id}/edit"),
        "errors": errors or FormErrors(),
        "event_types": [kind.value for kind in EVENT_ORDER],
        "target_types": [kind.value for kind in TargetType],
        "payload_formats": [kind.value for kind in PayloadFormat],
    }
    return SCREEN.page(visit, "webhooks/form.html", title, context, status=status)
