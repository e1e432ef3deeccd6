"""Administration → Webhooks without a browser: NEW WEBHOOK through the form (several targets, the
ADD TARGET round trip, errors next to their fields), SEND TEST against real receivers, EDIT that
keeps a stored auth header, DELETE, and the delivery history of a real execution announced by the
running notifier; in English and zh-CN."""

# ruff: noqa: F811  (the fixtures imported from tests.web.fixtures are requested by parameter name)

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from ferry import __version__
from ferry.auth.authenticator import ADMIN, Authenticator
from ferry.jobs.health import ping_registry
from ferry.jobs.service import ReplicationService
from ferry.notify.delivery import RetrySchedule, SenderSettings
from ferry.notify.notifier import Notifier, NotifierSettings
from ferry.replication.domain.registry import Registry, RegistryType, local_registry
from ferry.replication.domain.webhooks import WebhookPolicy
from ferry.server import create_service_app
from ferry.services import Services
from ferry.store import Store
from ferry.web.sessions import WebSettings
from tests.api.conftest import FAST_DISPATCH, admin_password_hash, poll, seed_image
from tests.store.conftest import a_policy
from tests.support.registry import RegistryServer
from tests.support.webhook_receiver import WebhookReceiver
from tests.web.fixtures import (  # noqa: F401  (fixtures)
    SESSION_KEY,
    Visitor,
    page_text,
    visitor,
    web,
    web_store,
)

SECRET = "Bearer hook-s3cret-7c1e"
FAST_NOTIFY = NotifierSettings(
    poll_seconds=0.05,
    sender=SenderSettings(timeout=5.0, retry=RetrySchedule(attempts=2, first_delay=0.05, max_delay=0.1)),
)
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


@pytest.fixture
def refusing_receiver() -> Iterator[WebhookReceiver]:
    """Answers 401 to everything and echoes the Authorization header back, as a careless one does."""
    with WebhookReceiver(statuses=[401] * 20, echo_header="Authorization") as started:
        yield started


@dataclass
class Notifying:
    visitor: Visitor
    """Signed in."""
    service: ReplicationService


@pytest.fixture
async def notifying(web_store: Store, registry: RegistryServer) -> AsyncIterator[Notifying]:
    """The app as ``ferry serve`` runs it, with a signed-in visitor: the dispatcher and the
    notifier's outbox and delivery loops running, ``registry`` as the local registry."""
    now = datetime.now(UTC)
    await web_store.accounts.set_password_hash(ADMIN, admin_password_hash(), now=now)
    local = local_registry(type=RegistryType.DOCKER_REGISTRY, url=registry.url, now=now)
    service = ReplicationService(web_store, local_registry=local, settings=FAST_DISPATCH)
    notifier = Notifier(web_store, local_registry=local, hostname="ferry.example.com", settings=FAST_NOTIFY)
    web_store.execution_ends.subscribe(lambda ended: notifier.wake())
    services = Services(
        store=web_store,
        service=service,
        authenticator=Authenticator(web_store.accounts, clock=lambda: datetime.now(UTC)),
        local_registry=local,
        clock=lambda: datetime.now(UTC),
        ping=ping_registry,
        version=__version__,
        notifier=notifier,
    )
    app = create_service_app(services, web=WebSettings(session_key=SESSION_KEY))
    running = [asyncio.create_task(service.dispatcher.run()), asyncio.create_task(notifier.run())]
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ferry") as client:
            signed_in = Visitor(client)
            assert (await signed_in.sign_in()).status_code == 303
            yield Notifying(signed_in, service)
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def webhook_form(name: str, *targets: dict[str, str], **fields: str | list[str]) -> dict[str, object]:
    """The New Webhook form as a browser posts it: both replication events, enabled, the targets
    as rows (``address``, ``type``, ``payload_format``, ``auth_header``, ``verify_cert``)."""
    form: dict[str, object] = {
        "name": name,
        "enabled": "on",
        "event_types": ["REPLICATION_FINISHED", "REPLICATION_FAILED"],
        "target_rows": str(len(targets)),
        "action": "save",
    }
    for index, target in enumerate(targets):
        row = {"type": "http", "payload_format": "Default", "verify_cert": "on", **target}
        form.update({f"targets-{index}-{key}": value for key, value in row.items()})
    return {**form, **fields}


async def post_form(visitor: Visitor, path: str, form: dict[str, object]) -> httpx.Response:
    """Post a form with repeated fields (the event type checkboxes) and the page's CSRF token."""
    await visitor.get(path)  # the form's page, with this session's CSRF token
    return await visitor.client.post(path, data={"csrf_token": visitor.csrf, **form})


async def created_webhook(web_store: Store, visitor: Visitor, form: dict[str, object]) -> WebhookPolicy:
    response = await post_form(visitor, "/ui/webhooks/new", form)
    assert (response.status_code, response.headers.get("location")) == (303, "/ui/webhooks"), page_text(
        response
    )
    [stored] = [item for item in await web_store.webhooks.list_policies() if item.name == form["name"]]
    return stored


def field_error(response: httpx.Response, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', response.text)
    assert found, f"no error shown next to {field}"
    return html.unescape(found.group(1))


async def send_test(visitor: Visitor, webhook: WebhookPolicy, *, fragment: bool = False) -> httpx.Response:
    await visitor.get("/ui/webhooks")
    headers = {"X-Ferry-Fragment": "1"} if fragment else None
    return await visitor.post(f"/ui/webhooks/{webhook.id}/test", headers=headers)


# -- NEW WEBHOOK -------------------------------------------------------------------------------------


async def test_new_webhook_is_saved_from_the_form_and_listed_without_its_auth_header(
    web_store: Store, visitor: Visitor, receiver: WebhookReceiver
) -> None:
    form = webhook_form(
        "ops",
        {"address": receiver.url, "auth_header": SECRET, "payload_format": "CloudEvents"},
        {"address": "https://hooks.slack.example/T1/B2/c3", "type": "slack"},
        description="tell ops",
    )
    stored = await created_webhook(web_store, visitor, form)
    assert (stored.description, stored.enabled, stored.creator) == ("tell ops", True, "admin")
    assert [kind.value for kind in stored.event_types] == ["REPLICATION_FINISHED", "REPLICATION_FAILED"]
    assert [(t.type.value, t.address, t.payload_format.value) for t in stored.targets] == [
        ("http", receiver.url, "CloudEvents"),
        ("slack", "https://hooks.slack.example/T1/B2/c3", "Default"),
    ]
    assert [(t.auth_header, t.skip_cert_verify) for t in stored.targets] == [(SECRET, False), ("", False)]

    listed = await visitor.get("/ui/webhooks")
    text = page_text(listed)
    assert "Webhook ops created." in text
    assert "ops tell ops Enabled Replication finished Replication failed" in text
    assert f"{receiver.url} HTTP, CloudEvents https://hooks.slack.example/T1/B2/c3 Slack None yet" in text
    assert f'href="/ui/webhooks/{stored.id}/deliveries"' in listed.text
    assert SECRET not in listed.text


async def test_add_target_comes_back_with_one_more_row_and_empty_rows_are_no_targets(
    web_store: Store, visitor: Visitor, receiver: WebhookReceiver
) -> None:
    typed = webhook_form("two", {"address": receiver.url, "auth_header": SECRET}, action="add_target")
    more = await post_form(visitor, "/ui/webhooks/new", typed)
    assert more.status_code == 200
    assert 'name="target_rows" value="2"' in more.text
    assert 'id="targets-1-address"' in more.text
    assert f'value="{receiver.url}"' in more.text  # what was typed comes back
    assert await web_store.webhooks.list_policies() == []

    three_rows = webhook_form(
        "two",
        {"address": receiver.url},
        {"address": ""},
        {"address": "https://hooks.example.com/b", "type": "slack"},
    )
    stored = await created_webhook(web_store, visitor, three_rows)
    assert [target.address for target in stored.targets] == [receiver.url, "https://hooks.example.com/b"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"event_types": []}, "event_types", "event_types: must not be empty"),
        ({"targets-0-address": "", "targets-1-address": " "}, "targets", "targets: must not be empty"),
        (
            {"targets-1-address": "hooks.example.com/x"},
            "targets-1-address",
            "is not an http:// or https:// URL",
        ),
        (
            {"targets-1-type": "slack", "targets-1-payload_format": "CloudEvents"},
            "targets-1-payload_format",
            "CloudEvents is not available for a slack target",
        ),
        (
            {"targets-0-auth_header": "a\r\nX-Evil: 1"},
            "targets-0-auth_header",
            "contains a control character",
        ),
        ({"name": " "}, "name", "name: "),
    ],
)
async def test_invalid_fields_are_shown_next_to_their_field_and_nothing_is_saved(
    web_store: Store, visitor: Visitor, change: dict[str, object], field: str, message: str
) -> None:
    form = webhook_form(
        "bad", {"address": "https://hooks.example.com/a"}, {"address": "https://hooks.example.com/b"}
    )
    response = await post_form(visitor, "/ui/webhooks/new", {**form, **change})
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert await web_store.webhooks.list_policies() == []


async def test_a_taken_name_stands_next_to_the_name(web_store: Store, visitor: Visitor) -> None:
    form = webhook_form("ops", {"address": "https://hooks.example.com/a"})
    await created_webhook(web_store, visitor, form)
    taken = await post_form(visitor, "/ui/webhooks/new", form)
    assert "a webhook policy named 'ops' already exists" in field_error(taken, "name")


# -- SEND TEST --------------------------------------------------------------------------------------


async def test_send_test_reaches_the_receiver_with_the_auth_header_and_the_page_says_delivered(
    web_store: Store, visitor: Visitor, receiver: WebhookReceiver
) -> None:
    webhook = await created_webhook(
        web_store, visitor, webhook_form("ops", {"address": receiver.url, "auth_header": SECRET})
    )
    page = await send_test(visitor, webhook)
    assert page.status_code == 200
    assert "<html" in page.text  # without a script: the list, with the results above it
    assert f"Test event sent to the targets of ops: {receiver.url} (HTTP, Default): delivered (HTTP 200)" in (
        page_text(page)
    )
    (request,) = receiver.received
    assert request.headers["authorization"] == SECRET
    body = request.json()
    assert (body["type"], body["event_data"]["webhook_policy"]) == ("TEST", {"id": webhook.id, "name": "ops"})

    fragment = await send_test(visitor, webhook, fragment=True)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "delivered (HTTP 200)" in page_text(fragment)
    assert len(receiver.received) == 2
    assert await web_store.deliveries.list_deliveries(webhook.id, offset=0, limit=10) == ([], 0)


async def test_send_test_shows_a_failing_targets_error_with_the_auth_header_masked(
    web_store: Store, visitor: Visitor, receiver: WebhookReceiver, refusing_receiver: WebhookReceiver
) -> None:
    form = webhook_form(
        "ops",
        {"address": receiver.url},
        {"address": refusing_receiver.url, "auth_header": SECRET},
    )
    webhook = await created_webhook(web_store, visitor, form)
    page = await send_test(visitor, webhook)
    text = page_text(page)
    assert f"{receiver.url} (HTTP, Default): delivered (HTTP 200)" in text
    assert (
        f"{refusing_receiver.url} (HTTP, Default): failed: the receiver answered HTTP 401: refused ***** "
        "(check the target's auth_header)" in text
    )
    assert SECRET not in page.text
    assert 'role="alert"' in page.text
    assert refusing_receiver.received[0].headers["authorization"] == SECRET  # it was sent, not shown


# -- EDIT and DELETE -----------------------------------------------------------------------------------


async def test_edit_keeps_the_stored_auth_header_when_the_field_is_left_empty(
    web_store: Store, visitor: Visitor, receiver: WebhookReceiver
) -> None:
    webhook = await created_webhook(
        web_store, visitor, webhook_form("ops", {"address": receiver.url, "auth_header": SECRET})
    )
    edit = await visitor.get(f"/ui/webhooks/{webhook.id}/edit")
    assert SECRET not in edit.text  # the stored header never reaches the page
    assert re.search(r'id="targets-0-auth_header"[^>]*placeholder="unchanged"', edit.text)

    changed = webhook_form(
        "ops-renamed",
        {"address": receiver.url, "auth_header": ""},
        event_types=["REPLICATION_FAILED"],
        enabled="",
    )
    saved = await post_form(visitor, f"/ui/webhooks/{webhook.id}/edit", changed)
    assert saved.status_code == 303, page_text(saved)
    assert "Webhook ops-renamed updated." in page_text(await visitor.get("/ui/webhooks"))
    updated = await web_store.webhooks.get(webhook.id)
    assert (updated.name, updated.enabled, [kind.value for kind in updated.event_types]) == (
        "ops-renamed",
        False,
        ["REPLICATION_FAILED"],
    )
    assert updated.targets[0].auth_header == SECRET
    await send_test(visitor, updated)
    assert receiver.received[-1].headers["authorization"] == SECRET

    retyped = webhook_form("ops-renamed", {"address": receiver.url, "auth_header": "Bearer new"})
    await post_form(visitor, f"/ui/webhooks/{webhook.id}/edit", retyped)
    assert (await web_store.webhooks.get(webhook.id)).targets[0].auth_header == "Bearer new"
    removed = webhook_form("ops-renamed", {"address": receiver.url, "clear_auth": "on"})
    await post_form(visitor, f"/ui/webhooks/{webhook.id}/edit", removed)
    assert (await web_store.webhooks.get(webhook.id)).targets[0].auth_header == ""


async def test_delete_asks_first_without_a_script_then_deletes(web_store: Store, visitor: Visitor) -> None:
    webhook = await created_webhook(
        web_store, visitor, webhook_form("old", {"address": "https://hooks.example.com/a"})
    )
    await visitor.get("/ui/webhooks")
    asked = await visitor.post(f"/ui/webhooks/{webhook.id}/delete")
    assert asked.status_code == 200
    assert "Do you want to delete webhook old?" in page_text(asked)
    deleted = await visitor.post(f"/ui/webhooks/{webhook.id}/delete", {"confirm": "yes"})
    assert deleted.headers["location"] == "/ui/webhooks"
    assert "Webhook old deleted." in page_text(await visitor.get("/ui/webhooks"))
    assert await web_store.webhooks.list_policies() == []
    assert (await visitor.get(f"/ui/webhooks/{webhook.id}/edit")).status_code == 404
    assert (await visitor.get(f"/ui/webhooks/{webhook.id}/deliveries")).status_code == 404


# -- the delivery history -------------------------------------------------------------------------------


async def test_the_delivery_history_shows_what_the_notifier_sent_when_a_real_execution_ended(
    web_store: Store,
    notifying: Notifying,
    registry: RegistryServer,
    registry_b: RegistryServer,
    receiver: WebhookReceiver,
    refusing_receiver: WebhookReceiver,
) -> None:
    visitor = notifying.visitor
    form = webhook_form(
        "ops",
        {"address": receiver.url},
        {"address": refusing_receiver.url, "auth_header": SECRET},
    )
    webhook = await created_webhook(web_store, visitor, form)
    seed_image(registry, "library/web", "v1")
    destination = await web_store.registries.add(_registry("mirror", registry_b.url))
    policy = await web_store.policies.add(a_policy("to-mirror", dest=destination.id))
    started = await notifying.service.start_execution(policy)
    ended = await poll(
        lambda: web_store.executions.get(started.id), lambda found: found.is_finished, what="the run's end"
    )
    assert ended.api_status.value == "Succeed"
    execution = started.id

    history = await poll(
        lambda: visitor.get(f"/ui/webhooks/{webhook.id}/deliveries"),
        lambda page: "Pending" not in page_text(page) and page_text(page).count("Replication finished") == 2,
        what="two settled deliveries in the history",
    )
    text = page_text(history)
    assert f'href="/ui/executions/{execution}"' in history.text
    assert f"Replication finished {execution} {receiver.url} HTTP, Default Success 1 200" in text
    assert (
        f"Replication finished {execution} {refusing_receiver.url} HTTP, Default Failed 1 401 "
        "the receiver answered HTTP 401: refused *****" in text
    )
    assert SECRET not in history.text
    assert receiver.received[0].json()["event_data"]["replication"]["execution_id"] == execution
    listed = page_text(await visitor.get("/ui/webhooks"))
    assert re.search(r"(Success|Failed) \d{4}-\d\d-\d\d \d\d:\d\d UTC Delivery history", listed)


async def test_the_delivery_history_of_a_quiet_webhook_says_nothing_was_sent(
    web_store: Store, visitor: Visitor
) -> None:
    webhook = await created_webhook(
        web_store, visitor, webhook_form("quiet", {"address": "https://hooks.example.com/a"})
    )
    page = await visitor.get(f"/ui/webhooks/{webhook.id}/deliveries")
    assert "Nothing sent yet: deliveries appear here when a replication ends." in page_text(page)


# -- zh-CN ----------------------------------------------------------------------------------------------


async def test_the_webhook_screens_speak_chinese(
    web_store: Store, visitor: Visitor, receiver: WebhookReceiver
) -> None:
    webhook = await created_webhook(web_store, visitor, webhook_form("ops", {"address": receiver.url}))
    visitor.client.headers.update(CHINESE)
    listed = page_text(await visitor.get("/ui/webhooks"))
    for word in (
        "新建 Webhook",
        "事件类型",
        "复制完成",
        "复制失败",
        "最近发送",
        "发送记录",
        "发送测试",
        "编辑",
        "删除",
    ):
        assert word in listed, word
    form = page_text(await visitor.get("/ui/webhooks/new"))
    for word in (
        "名称",
        "描述",
        "启用",
        "事件类型",
        "通知类型",
        "负载格式",
        "认证头",
        "验证远程证书",
        "添加通知目标",
        "确定",
        "取消",
    ):
        assert word in form, word
    tested = page_text(await send_test(visitor, webhook))
    assert "已发送测试事件" in tested
    assert "发送成功 (HTTP 200)" in tested
    history = page_text(await visitor.get(f"/ui/webhooks/{webhook.id}/deliveries"))
    assert "ops 的发送记录" in history
    assert "还没有发送过：复制结束时，发送记录会出现在这里。" in history


def _registry(name: str, url: str) -> Registry:
    now = datetime.now(UTC)
    return Registry(
        id=0, name=name, type=RegistryType.DOCKER_REGISTRY, url=url, creation_time=now, update_time=now
    )
