"""The Executions pages in Chromium, where the script matters: an execution's page follows a run to
its end without being reloaded (STOP gives way to the final status), a task's log page appends the
lines that come after it was loaded, and STOP asks with a dialog, after which RETRY appears in
place. Against a real ``ferry serve`` whose destination holds its uploads until the test lets them
go. The rest of the screens is tested without a browser in ``test_executions.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.support.blobs import BlobSpec
from tests.support.faults import HoldingProxy
from tests.support.ferry_server import FerryServer
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.web.browsing import Browsing, SignedInPage, save_screenshot

RUN_TIMEOUT = 30.0
LIVE_TIMEOUT_MS = 10_000
"""The page asks every second; the server notices a release or a stop within a heartbeat."""


@pytest.fixture
def holding(registry_b: RegistryServer) -> Iterator[HoldingProxy]:
    with HoldingProxy(registry_b) as proxy:
        yield proxy


def held_run(server: FerryServer, proxy: HoldingProxy, name: str) -> int:
    """``<name>/app:v1`` pushed to ferry's local registry, a rule copying it to ``proxy``, and a run
    of it whose upload the proxy holds; the run's id."""
    push_image(server.local_registry, f"{name}/app", "v1", build_image([BlobSpec(50_000, seed=len(name))]))
    with server.client() as api:
        registry = api.post("/registries", json={"name": name, "type": "docker-registry", "url": proxy.url})
        registry.raise_for_status()
        rule = {
            "name": name,
            "src_registry": None,
            "dest_registry": {"id": _created_id(registry.headers["location"])},
            "dest_namespace": "mirror",
            "dest_namespace_replace_count": 1,
            "trigger": {"type": "manual", "trigger_settings": {"cron": ""}},
            "filters": [{"type": "name", "value": f"{name}/**"}],
            "override": True,
            "enabled": True,
        }
        policy = api.post("/replication/policies", json=rule)
        policy.raise_for_status()
        proxy.hold()
        started = api.post(
            "/replication/executions", json={"policy_id": _created_id(policy.headers["location"])}
        )
        started.raise_for_status()
    wait_until(lambda: proxy.held or None, timeout=RUN_TIMEOUT, what="an upload held by the proxy")
    return _created_id(started.headers["location"])


def _created_id(location: str) -> int:
    return int(location.rsplit("/", 1)[1])


def api_get(server: FerryServer, path: str) -> Any:
    with server.client() as api:
        reply = api.get(path)
        reply.raise_for_status()
        return reply.json()


def headline(page: Page) -> Any:
    return page.locator("[data-live-part=headline][aria-live=polite]")


def test_the_page_of_a_running_execution_follows_it_to_the_end_and_the_log_grows(
    ferry_server: FerryServer, signed_in_page: SignedInPage, browsing: Browsing, holding: HoldingProxy
) -> None:
    execution_id = held_run(ferry_server, holding, "follow")
    [task] = api_get(ferry_server, f"/replication/executions/{execution_id}/tasks")
    page = signed_in_page()
    page.goto(f"{ferry_server.url}/ui/executions/{execution_id}")
    expect(headline(page)).to_contain_text("In Progress")
    expect(page.get_by_role("button", name="STOP")).to_be_visible()
    save_screenshot(page, "en-15-execution-in-progress")

    log_page = page.context.new_page()
    log_page.on("pageerror", lambda error: browsing.page_errors.append(f"{log_page.url}: {error}"))
    log_page.goto(f"{ferry_server.url}/ui/executions/{execution_id}/tasks/{task['id']}/log")
    log = log_page.locator("pre.log")
    expect(log).to_contain_text("copy follow/app → ")
    expect(log).not_to_contain_text("1 copied")

    holding.release()
    expect(headline(page)).to_contain_text("Succeed 1 of 1 tasks done", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_role("button", name="STOP")).to_have_count(0)
    task_row = page.get_by_role("row").filter(has_text="follow/app [1 item(s) in total]")
    expect(task_row.get_by_role("cell").filter(has_text="Succeed")).to_be_visible()
    expect(log).to_contain_text("1 copied, 0 up to date", timeout=LIVE_TIMEOUT_MS)
    expect(log_page.locator("[data-log-status] .badge")).to_have_text("Succeed")
    assert log_page.locator(".log-line").count() == len(log.inner_text().splitlines())
    assert browsing.page_errors == []


def test_stop_asks_in_a_dialog_then_retry_appears_in_place_and_runs_the_task_again(
    ferry_server: FerryServer, signed_in_page: SignedInPage, browsing: Browsing, holding: HoldingProxy
) -> None:
    execution_id = held_run(ferry_server, holding, "stop")
    page = signed_in_page()
    page.goto(f"{ferry_server.url}/ui/executions/{execution_id}")
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="STOP").click()
    expect(page.get_by_role("status")).to_contain_text(f"Execution {execution_id}")
    assert asked == [f"Do you want to stop execution {execution_id}?"]
    expect(headline(page)).to_contain_text("Stopped", timeout=LIVE_TIMEOUT_MS)
    holding.release()

    page.get_by_role("button", name="RETRY").click()
    expect(page).to_have_url(re.compile(r"/ui/executions/(\d+)$"))
    retried = _created_id(page.url)
    assert retried != execution_id
    expect(headline(page)).to_contain_text("Succeed 1 of 1 tasks done", timeout=LIVE_TIMEOUT_MS)
    assert api_get(ferry_server, f"/replication/executions/{retried}")["status"] == "Succeed"
    assert browsing.page_errors == []
