"""The Webhooks screen in Chromium, where the script matters: NEW WEBHOOK with a second target
(ADD TARGET), Enter in a field saves, and SEND TEST shows each target's result in the page's live
region without leaving the page. The rest of the screen is tested without a browser in
``test_webhooks.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.support.ferry_server import FerryServer
from tests.support.webhook_receiver import WebhookReceiver
from tests.web.browsing import Browsing, SignedInPage, save_screenshot

SECRET = "Bearer browser-s3cret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


@pytest.fixture
def refusing() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(statuses=[404] * 10) as started:
        yield started


def test_a_new_webhook_with_two_targets_and_send_test_in_the_live_region(
    ferry_server: FerryServer,
    signed_in_page: SignedInPage,
    browsing: Browsing,
    receiver: WebhookReceiver,
    refusing: WebhookReceiver,
) -> None:
    page = signed_in_page()
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="NEW WEBHOOK").click()
    page.get_by_label("Webhook name").fill("ops")
    page.get_by_label("Replication failed").check()
    target = page.get_by_role("group", name="Target 1")
    target.get_by_label("Address").fill(receiver.url)
    target.get_by_label("Auth header").fill(SECRET)
    page.get_by_role("button", name="ADD TARGET").click()

    second = page.get_by_role("group", name="Target 2")
    expect(page.get_by_role("group", name="Target 1").get_by_label("Address")).to_have_value(receiver.url)
    second.get_by_label("Address").fill(refusing.url)
    save_screenshot(page, "en-20-new-webhook")
    second.get_by_label("Address").press("Enter")  # the form's default button is OK

    row = page.get_by_role("row").filter(has_text="ops")
    expect(row).to_contain_text("Replication finished")
    expect(page.get_by_role("status")).to_contain_text("Webhook ops created.")
    url_before = page.url
    row.get_by_role("button", name=re.compile("^SEND TEST")).click()

    results = page.locator("#webhook-test-result[aria-live=polite]")
    expect(results).to_contain_text(f"{receiver.url} (HTTP, Default): delivered (HTTP 200)")
    expect(results).to_contain_text(f"{refusing.url} (HTTP, Default): failed: the receiver answered HTTP 404")
    assert page.url == url_before  # shown in place: no page was loaded
    save_screenshot(page, "en-21-webhooks-send-test")
    assert receiver.received[0].headers["authorization"] == SECRET
    assert SECRET not in page.content()

    row.get_by_role("link", name=re.compile("^Delivery history")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delivery history of ops")
    expect(page.get_by_text("Nothing sent yet")).to_be_visible()
    assert browsing.page_errors == []
    assert browsing.offsite == []
