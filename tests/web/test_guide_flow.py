"""The guide's flow, clicked through ferry's web UI in Debian's Chromium, in English and in zh-CN.

Against a real ``ferry serve`` and real registries: the source is ferry's managed local registry
(images pushed with ``tests.support.images``), the destination a docker-registry with htpasswd
(so a wrong password really is "unauthorized") behind a :class:`HoldingProxy`, which lets
everything through until the last step holds its uploads to make a long run to stop.

add an endpoint → test connection (success, then "unauthorized" with a wrong password) → save it →
create the rule → replicate → Succeed with counts → the execution's tasks → a task's log →
replicate again while the destination holds uploads → stop the run → Stopped.

What the UI shows is checked against the API and the destination registry (the oracle); the UI is
never trusted to check itself. ``FERRY_SCREENSHOTS=1`` saves every screen as
``docs/screenshots/<en|zh>-NN-<screen>.png`` for the README.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.blobs import BlobSpec
from tests.support.client import list_tags
from tests.support.faults import HoldingProxy
from tests.support.ferry_server import FerryServer
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.web.browsing import Browsing, SignedInPage, save_screenshot
from tests.web.words import LOCALES, WORDS, Locale, Words, named

DESTINATION_NAMESPACE = "lgy-images"
TAG_FILTER = "prod-*, v*"  # the guide's, comma and all
RUN_TIMEOUT = 30.0


@dataclass(frozen=True)
class Guide:
    """One run of the flow: its language, names that do not clash with the other language's run
    (both share the module's ferry), and the registries."""

    locale: Locale
    server: FerryServer
    destination: RegistryServer
    """The htpasswd registry; ferry reaches it through ``proxy``."""
    proxy: HoldingProxy

    @property
    def words(self) -> Words:
        return WORDS[self.locale]

    @property
    def short(self) -> str:
        return self.locale.split("-")[0]  # en, zh

    @property
    def source_namespace(self) -> str:
        return f"guide-{self.short}"

    @property
    def endpoint(self) -> str:
        return f"aliyun-acr-{self.short}"

    @property
    def rule(self) -> str:
        return f"sync-to-aliyun-{self.short}"

    @property
    def name_filter(self) -> str:
        return f"{self.source_namespace}/nms4cloud-*"

    def shot(self, page: Page, number: int, screen: str) -> None:
        save_screenshot(page, f"{self.short}-{number:02d}-{screen}")


@pytest.fixture
def holding_proxy(basic_registry: RegistryServer) -> Iterator[HoldingProxy]:
    with HoldingProxy(basic_registry) as proxy:
        yield proxy


@pytest.mark.parametrize("locale", LOCALES)
def test_the_guides_flow_in_the_web_ui(
    locale: Locale,
    ferry_server: FerryServer,
    basic_registry: RegistryServer,
    holding_proxy: HoldingProxy,
    signed_in_page: SignedInPage,
    browsing: Browsing,
) -> None:
    guide = Guide(locale, ferry_server, basic_registry, holding_proxy)
    seed_source(guide)
    page = signed_in_page(locale, screenshot=f"{guide.short}-01-sign-in")
    page.on("dialog", lambda dialog: dialog.accept())  # "are you sure?" confirmations, if any

    add_endpoint(page, guide)
    create_rule(page, guide)
    execution = replicate_and_see_it_succeed(page, guide)
    open_a_task_log(page, guide, execution)
    stop_a_long_run(page, guide, execution)

    assert browsing.offsite == [], "the UI must work without the internet (a private network)"
    assert browsing.page_errors == []


def seed_source(guide: Guide) -> None:
    """The guide's images in ferry's local registry: two repositories the rule takes (one of them
    with a tag it leaves), and one it leaves."""
    base = BlobSpec(20_000, seed=1)
    local, namespace = guide.server.local_registry, guide.source_namespace
    for repository, tag, seed in (
        ("nms4cloud-gateway", "prod-1.0", 2),
        ("nms4cloud-gateway", "v1.0", 3),
        ("nms4cloud-gateway", "test-1", 4),
        ("nms4cloud-portal", "v1.0", 5),
        ("other", "v1.0", 6),
    ):
        push_image(local, f"{namespace}/{repository}", tag, build_image([base, BlobSpec(10_000, seed=seed)]))


def add_endpoint(page: Page, guide: Guide) -> None:
    """Administration → Registries → NEW ENDPOINT, TEST CONNECTION twice, OK."""
    words, destination = guide.words, guide.destination
    page.goto(guide.server.url + "/ui/registries")
    guide.shot(page, 2, "registries-empty")
    page.get_by_role("button", name=named(words.new_endpoint)).or_(
        page.get_by_role("link", name=named(words.new_endpoint))
    ).click()
    page.get_by_label(named(words.provider)).select_option(value="docker-registry")
    page.get_by_label(named(words.endpoint_name)).fill(guide.endpoint)
    page.get_by_label(named(words.endpoint_url)).fill(guide.proxy.url)
    page.get_by_label(named(words.access_id)).fill(destination.username or "")
    secret = page.get_by_label(named(words.access_secret))
    secret.fill(destination.password or "")
    guide.shot(page, 3, "new-endpoint")

    connection_ok = page.get_by_text(re.compile(re.escape(words.connection_ok), re.IGNORECASE))
    unauthorized = page.get_by_text(re.compile("unauthorized", re.IGNORECASE))
    page.get_by_role("button", name=named(words.test_connection)).click()
    expect(connection_ok.first).to_be_visible()
    expect(unauthorized).to_have_count(0)
    guide.shot(page, 4, "test-connection-ok")

    # A server-rendered form does not send a password back: type it each time.
    page.get_by_label(named(words.access_secret)).fill("wrong-" + (destination.password or ""))
    page.get_by_role("button", name=named(words.test_connection)).click()
    expect(unauthorized.first).to_be_visible()
    expect(connection_ok).to_have_count(0)
    guide.shot(page, 5, "test-connection-unauthorized")

    page.get_by_label(named(words.access_secret)).fill(destination.password or "")
    page.get_by_role("button", name=named(words.ok)).click()
    expect(row_with(page, guide.endpoint)).to_be_visible()
    guide.shot(page, 6, "registries")

    [stored] = [item for item in api_get(guide, "/registries") if item["name"] == guide.endpoint]
    assert (stored["type"], stored["url"]) == ("docker-registry", guide.proxy.url)
    assert stored["credential"]["access_key"] == destination.username
    assert stored["status"] == "healthy"  # saved with the right password, not the wrong one


def create_rule(page: Page, guide: Guide) -> None:
    """Administration → Replications → NEW REPLICATION RULE, the guide's filters, manual trigger."""
    words = guide.words
    open_replications(page, guide)
    page.get_by_role("button", name=named(words.new_rule)).or_(
        page.get_by_role("link", name=named(words.new_rule))
    ).click()
    # The rule's name comes first; the name filter has the same label in the filters' fieldset.
    page.get_by_label(named(words.rule_name)).first.fill(guide.rule)
    destinations = page.get_by_label(named(words.destination_registry))
    # The option's text may add the URL to the name (Harbor's does); pick it by the name.
    option = destinations.locator("option").filter(has_text=guide.endpoint)
    destinations.select_option(value=option.get_attribute("value"))
    page.get_by_label(named(words.destination_namespace)).fill(DESTINATION_NAMESPACE)
    filters = page.get_by_role("group", name=named(words.resource_filter))
    filters.get_by_label(named(words.name_filter)).fill(guide.name_filter)
    filters.get_by_label(named(words.tag_filter)).fill(TAG_FILTER)
    guide.shot(page, 7, "new-rule")
    page.get_by_role("button", name=named(words.save)).click()
    expect(row_with(page, guide.rule)).to_be_visible()
    guide.shot(page, 8, "rules")

    policy = find_policy(guide)
    assert policy["dest_registry"]["name"] == guide.endpoint
    assert policy["dest_namespace"] == DESTINATION_NAMESPACE
    assert policy["trigger"]["type"] == "manual"
    assert {item["type"]: item["value"] for item in policy["filters"]} == {
        "name": guide.name_filter,
        "tag": TAG_FILTER,
    }


def replicate_and_see_it_succeed(page: Page, guide: Guide) -> dict[str, Any]:
    """REPLICATE, then the execution shows Succeed and its counts (2 repositories: 2 tasks)."""
    words = guide.words
    click_replicate(page, guide)
    execution = finished_execution(guide, started_execution_id(guide))
    assert (execution["status"], execution["total"], execution["succeed"]) == ("Succeed", 2, 2)
    assert sorted(list_tags(guide.destination, f"{DESTINATION_NAMESPACE}/nms4cloud-gateway")) == [
        "prod-1.0",
        "v1.0",
    ]
    assert list_tags(guide.destination, f"{DESTINATION_NAMESPACE}/nms4cloud-portal") == ["v1.0"]

    # Replications → Executions (the guide's way to the status). Opened afresh, since the page
    # need not refresh itself: what matters is what it shows once loaded.
    open_replications(page, guide)
    row = execution_row(page, execution["id"])
    expect(cell(row, words.succeed)).to_be_visible()
    expect(cell(row, re.compile(rf"(?<!\d){execution['total']}(?!\d)"))).to_be_visible()
    guide.shot(page, 9, "execution-succeeded")
    return execution


def open_a_task_log(page: Page, guide: Guide, execution: dict[str, Any]) -> None:
    """The execution's tasks (one per repository), then the gateway task's log."""
    words = guide.words
    execution_row(page, execution["id"]).get_by_role("link", name=str(execution["id"]), exact=True).click()
    gateway = row_with(page, f"{guide.source_namespace}/nms4cloud-gateway")
    expect(cell(gateway, words.succeed)).to_be_visible()
    expect(cell(row_with(page, f"{guide.source_namespace}/nms4cloud-portal"), words.succeed)).to_be_visible()
    guide.shot(page, 10, "tasks")

    link = gateway.get_by_role("link", name=named(words.logs))
    if link.get_attribute("target") == "_blank":
        with page.context.expect_page() as opened:
            link.click()
        log_page = opened.value
        log_page.wait_for_load_state()
    else:
        link.click()
        log_page = page
    log = log_page.locator("body")
    expect(log).to_contain_text(f"{guide.source_namespace}/nms4cloud-gateway")
    expect(log).to_contain_text(f"{DESTINATION_NAMESPACE}/nms4cloud-gateway:prod-1.0")
    expect(log).to_contain_text("2 copied")
    guide.shot(log_page, 11, "task-log")
    if log_page is not page:
        log_page.close()


def stop_a_long_run(page: Page, guide: Guide, earlier: dict[str, Any]) -> None:
    """A new tag, a destination that holds its uploads: the run stays In Progress until STOP."""
    words = guide.words
    guide.proxy.hold()
    push_image(
        guide.server.local_registry,
        f"{guide.source_namespace}/nms4cloud-gateway",
        "v2.0",
        build_image([BlobSpec(20_000, seed=1), BlobSpec(2_000_000, seed=7)]),
    )
    open_replications(page, guide)
    click_replicate(page, guide)
    execution_id = started_execution_id(guide, after=earlier["id"])
    wait_until(lambda: guide.proxy.held or None, timeout=RUN_TIMEOUT, what="an upload held by the proxy")
    assert api_get(guide, f"/replication/executions/{execution_id}")["status"] == "InProgress"

    open_replications(page, guide)
    row = execution_row(page, execution_id)
    expect(cell(row, words.in_progress)).to_be_visible()
    guide.shot(page, 12, "long-run-in-progress")
    row.get_by_role("button", name=named(words.stop)).click()

    execution = finished_execution(guide, execution_id)
    assert (execution["status"], execution["stopped"]) == ("Stopped", 1)
    assert "v2.0" not in list_tags(guide.destination, f"{DESTINATION_NAMESPACE}/nms4cloud-gateway")
    open_replications(page, guide)
    expect(cell(execution_row(page, execution_id), words.stopped)).to_be_visible()
    guide.shot(page, 13, "long-run-stopped")
    guide.proxy.release()


# --- what the steps share ---------------------------------------------------------------------------


def row_with(page: Page, text: str) -> Locator:
    return page.get_by_role("row").filter(has_text=text)


def cell(row: Locator, text: str | re.Pattern[str]) -> Locator:
    """The row's first cell showing ``text`` (a row's text runs its cells together: "1Succeed2")."""
    return row.get_by_role("cell").filter(has_text=text).first


def execution_row(page: Page, execution_id: int) -> Locator:
    """The execution's row: the one with a link named by the execution's id."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=str(execution_id), exact=True))


def open_replications(page: Page, guide: Guide) -> None:
    """Administration → Replications, from the navigation."""
    page.get_by_role("link", name=named(guide.words.replications)).first.click()


def click_replicate(page: Page, guide: Guide) -> None:
    """The REPLICATE button in the rule's row (Harbor: select the rule, then REPLICATE)."""
    row_with(page, guide.rule).get_by_role("button", name=named(guide.words.replicate)).click()


def api_get(guide: Guide, path: str) -> Any:
    reply = httpx.get(guide.server.api + path, auth=guide.server.auth, timeout=10)
    reply.raise_for_status()
    return reply.json()


def find_policy(guide: Guide) -> dict[str, Any]:
    [policy] = [item for item in api_get(guide, "/replication/policies") if item["name"] == guide.rule]
    return dict(policy)


def started_execution_id(guide: Guide, *, after: int = 0) -> int:
    """The id of the rule's execution that the UI just started: the first one newer than ``after``."""
    policy_id = find_policy(guide)["id"]

    def started() -> int | None:
        found = api_get(guide, f"/replication/executions?policy_id={policy_id}&page_size=100")
        return max((item["id"] for item in found if item["id"] > after), default=None)

    return wait_until(started, timeout=RUN_TIMEOUT, what=f"an execution of {guide.rule} after {after}")


def finished_execution(guide: Guide, execution_id: int) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = api_get(guide, f"/replication/executions/{execution_id}")
        return None if execution["status"] == "InProgress" else execution

    try:
        return wait_until(finished, timeout=RUN_TIMEOUT, interval=0.1, what=f"execution {execution_id}'s end")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n--- ferry log ---\n{guide.server.log_tail()}") from None
