"""The Executions screens without a browser, over real runs: the local registry (the ``registry``
fixture) copied to ``registry_b`` by the real dispatcher, running in the background as under
``ferry serve``. The list, an execution's page with its counts and tasks, its live fragment, a
task's log with the cursor that follows it, STOP (through a destination that holds its uploads, so
the run is really running), RETRY, the 404 pages and the Chinese words."""

# ruff: noqa: F811  (the fixtures imported from tests.web.fixtures are requested by parameter name)

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from ferry.replication.domain.execution import Execution, Task
from ferry.replication.domain.policy import Filter, FilterType, Policy
from ferry.replication.domain.registry import Registry, RegistryType, local_registry
from ferry.store import Store
from ferry.store.tasks import TaskQuery, format_log
from tests.api.conftest import FAST_DISPATCH, poll, seed_image
from tests.store.conftest import a_policy
from tests.support.client import list_tags
from tests.support.faults import HoldingProxy
from tests.support.registry import RegistryServer
from tests.web.fixtures import (  # noqa: F401  (fixtures)
    Visitor,
    WebFerry,
    anonymous,
    compose_web,
    page_text,
    visitor,
    web_store,
)

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
async def web(web_store: Store, registry: RegistryServer) -> AsyncIterator[WebFerry]:
    """The app as ``ferry serve`` composes it, with ``registry`` as the local registry and the
    dispatcher running in the background (the page tests' ``web`` runs nothing)."""
    local = local_registry(type=RegistryType.DOCKER_REGISTRY, url=registry.url, now=datetime.now(UTC))
    web = await compose_web(web_store, local=local, dispatch=FAST_DISPATCH)
    dispatching = asyncio.create_task(web.services.service.dispatcher.run(), name="test-dispatcher")
    try:
        yield web
    finally:
        dispatching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatching


@pytest.fixture
def images(registry: RegistryServer) -> None:
    """library/hello:v1 and :v2 in the local registry (the rule's filters take both)."""
    seed_image(registry, "library/hello", "v1", seed=1)
    seed_image(registry, "library/hello", "v2", seed=2)


@pytest.fixture
def holding(registry_b: RegistryServer) -> Iterator[HoldingProxy]:
    """``registry_b`` behind a proxy that holds blob uploads while the test wants."""
    with HoldingProxy(registry_b) as proxy:
        yield proxy


async def a_rule(web: WebFerry, url: str, name: str = "to-b") -> Policy:
    """Local library/** (tags v*) → the registry at ``url``, under team/ (library/hello → team/hello)."""
    now = datetime.now(UTC)
    destination = await web.store.registries.add(
        Registry(
            id=0,
            name=f"{name}-registry",
            type=RegistryType.DOCKER_REGISTRY,
            url=url,
            creation_time=now,
            update_time=now,
        )
    )
    return await web.store.policies.add(a_policy(name, dest=destination.id))


async def finished(web: WebFerry, execution_id: int) -> Execution:
    ended: Execution = await poll(
        lambda: web.store.executions.get(execution_id),
        lambda execution: execution.is_finished,
        what=f"execution {execution_id} to end",
    )
    return ended


async def a_finished_run(web: WebFerry, registry_b: RegistryServer) -> Execution:
    policy = await a_rule(web, registry_b.url)
    started = await web.services.service.start_execution(policy)
    return await finished(web, started.id)


async def a_held_run(web: WebFerry, proxy: HoldingProxy) -> Execution:
    """A run whose upload is held by ``proxy``: In Progress until released or stopped."""
    policy = await a_rule(web, proxy.url, name="held")
    proxy.hold()
    started = await web.services.service.start_execution(policy)
    await poll(lambda: asyncio.sleep(0, proxy.held), bool, what="an upload held by the proxy")
    return await web.store.executions.get(started.id)


def live_fragment_final(response: httpx.Response) -> bool:
    found = re.search(r'data-live-state data-final="(true|false)"', response.text)
    assert found, "the live fragment says whether the run is over"
    return found.group(1) == "true"


# -- an execution's page -----------------------------------------------------------------------------


@pytest.mark.usefixtures("images")
async def test_a_finished_execution_shows_succeed_its_counts_and_its_task(
    web: WebFerry, visitor: Visitor, registry_b: RegistryServer
) -> None:
    execution = await a_finished_run(web, registry_b)
    assert execution.api_status.value == "Succeed"

    page = await visitor.get(f"/ui/executions/{execution.id}")
    assert page.status_code == 200
    text = page_text(page)
    assert f"Execution {execution.id} Progress Succeed 1 of 1 tasks done" in text
    assert "Replication rule to-b Trigger Manual" in text
    assert "Total 1 Succeed 1 Failed 0 In Progress 0 Stopped 0" in text
    assert (
        "1 library/hello [2 item(s) in total] → to team/hello [2 item(s) in total] Copy Succeed 1 2 0 0 0"
        in text
    )
    assert f"{execution.bytes_copied / 1024:.1f} KiB moved" in text
    assert f'href="/ui/replications?rule={execution.policy_id}"' in page.text
    assert "STOP" not in text  # over
    assert "RETRY" not in text  # and nothing to run again
    assert 'data-final="true"' in page.text  # the script has nothing to follow
    assert sorted(list_tags(registry_b, "team/hello")) == ["v1", "v2"]


async def test_a_running_execution_shows_its_progress_and_its_live_fragment_follows_it(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, images: None
) -> None:
    execution = await a_held_run(web, holding)
    page = await visitor.get(f"/ui/executions/{execution.id}")
    text = page_text(page)
    assert "In Progress 0 of 1 tasks done" in text
    assert "Copy In Progress" in text
    assert re.search(r'<form method="post" action="/ui/executions/\d+/stop"', page.text)
    assert "reload it to see the progress" in text  # for a visitor without a script
    assert 'http-equiv="refresh"' not in page.text
    assert f'data-execution-live="/ui/executions/{execution.id}/live"' in page.text

    fragment = await visitor.get(f"/ui/executions/{execution.id}/live", headers={"X-Ferry-Fragment": "1"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert not live_fragment_final(fragment)
    assert "In Progress 0 of 1 tasks done" in page_text(fragment)

    holding.release()
    await finished(web, execution.id)
    done = await visitor.get(f"/ui/executions/{execution.id}/live", headers={"X-Ferry-Fragment": "1"})
    assert live_fragment_final(done)
    assert "Succeed 1 of 1 tasks done" in page_text(done)
    assert "STOP" not in page_text(done)  # the script swaps the buttons with the rest


# -- STOP and RETRY ----------------------------------------------------------------------------------


async def test_stop_asks_first_without_a_script_then_stops_the_running_execution(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, registry_b: RegistryServer, images: None
) -> None:
    execution = await a_held_run(web, holding)
    await visitor.get(f"/ui/executions/{execution.id}")
    asked = await visitor.post(f"/ui/executions/{execution.id}/stop")
    assert asked.status_code == 200
    assert f"Do you want to stop execution {execution.id}?" in page_text(asked)
    assert not (await web.store.executions.get(execution.id)).stop_requested

    stopped = await visitor.post(f"/ui/executions/{execution.id}/stop", {"confirm": "yes"})
    assert (stopped.status_code, stopped.headers["location"]) == (303, f"/ui/executions/{execution.id}")
    ended = await finished(web, execution.id)
    assert (ended.api_status.value, ended.counts.stopped) == ("Stopped", 1)
    text = page_text(await visitor.get(f"/ui/executions/{execution.id}"))
    assert f"Execution {execution.id} is stopping" in text or f"Execution {execution.id} stopped." in text
    assert "Stopped 1 of 1 tasks done" in text
    assert "Copy Stopped" in text
    assert "STOP" not in text
    assert "RETRY" in text  # a stopped task can run again
    assert list_tags(registry_b, "team/hello") == []


async def test_stop_goes_back_to_the_page_it_was_asked_from_and_only_on_this_site(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, images: None
) -> None:
    execution = await a_held_run(web, holding)
    await visitor.get(f"/ui/executions/{execution.id}")
    back = f"/ui/replications?rule={execution.policy_id}"
    stopped = await visitor.post(f"/ui/executions/{execution.id}/stop", {"confirm": "yes", "next": back})
    assert stopped.headers["location"] == back
    await finished(web, execution.id)
    again = await visitor.post(
        f"/ui/executions/{execution.id}/stop", {"confirm": "yes", "next": "//evil.example/"}
    )
    assert again.headers["location"] == f"/ui/executions/{execution.id}"
    assert f"Execution {execution.id} has already ended." in page_text(await visitor.get(back.split("?")[0]))


async def test_stop_needs_the_forms_csrf_token(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, images: None
) -> None:
    execution = await a_held_run(web, holding)
    refused = await visitor.post(f"/ui/executions/{execution.id}/stop", {"confirm": "yes"}, csrf=False)
    assert refused.status_code == 403
    assert not (await web.store.executions.get(execution.id)).stop_requested


async def test_retry_runs_the_stopped_tasks_again_in_a_new_execution(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, registry_b: RegistryServer, images: None
) -> None:
    execution = await a_held_run(web, holding)
    await web.services.service.stop_execution(execution.id)
    await finished(web, execution.id)
    holding.release()

    await visitor.get(f"/ui/executions/{execution.id}")
    retried = await visitor.post(f"/ui/executions/{execution.id}/retry")
    assert retried.status_code == 303
    new_id = int(retried.headers["location"].rsplit("/", 1)[1])
    assert new_id != execution.id
    again = await finished(web, new_id)
    assert (again.retry_of, again.api_status.value) == (execution.id, "Succeed")
    text = page_text(await visitor.get(retried.headers["location"]))
    assert f"Execution {new_id} runs the failed and stopped tasks of execution {execution.id} again." in text
    assert f"Runs the failed and stopped tasks of execution {execution.id}" in text
    assert sorted(list_tags(registry_b, "team/hello")) == ["v1", "v2"]


@pytest.mark.usefixtures("images")
async def test_retry_of_an_execution_without_failures_says_why_not(
    web: WebFerry, visitor: Visitor, registry_b: RegistryServer
) -> None:
    execution = await a_finished_run(web, registry_b)
    await visitor.get(f"/ui/executions/{execution.id}")
    refused = await visitor.post(f"/ui/executions/{execution.id}/retry")
    assert refused.headers["location"] == f"/ui/executions/{execution.id}"
    assert (
        f"The tasks cannot be run again: execution {execution.id} has no failed or stopped tasks"
        in page_text(await visitor.get(refused.headers["location"]))
    )
    executions, _ = await web.store.executions.list_executions()
    assert [item.id for item in executions] == [execution.id]


# -- a task's log ------------------------------------------------------------------------------------


async def the_task(web: WebFerry, execution_id: int) -> Task:
    [task], _ = await web.store.tasks.list_tasks(TaskQuery(execution_id))
    return task


@pytest.mark.usefixtures("images")
async def test_the_log_page_shows_the_tasks_log_and_offers_it_as_text(
    web: WebFerry, visitor: Visitor, registry_b: RegistryServer
) -> None:
    execution = await a_finished_run(web, registry_b)
    task = await the_task(web, execution.id)
    detail = await visitor.get(f"/ui/executions/{execution.id}")
    log_path = f"/ui/executions/{execution.id}/tasks/{task.id}/log"
    assert f'href="{log_path}"' in detail.text

    page = await visitor.get(log_path)
    assert page.status_code == 200
    text = page_text(page)
    assert "library/hello [2 item(s) in total] → to team/hello [2 item(s) in total] Status Succeed" in text
    assert "[INFO] copy library/hello → 127.0.0.1:" in text
    assert "tagged team/hello:v1 → sha256:" in text
    assert "2 copied, 0 up to date, 0 skipped, 0 failed" in text
    assert page.text.count('<span class="log-line">') == len(await web.store.tasks.read_log(task.id))

    download = await visitor.get(log_path + ".txt")
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["content-disposition"] == f'attachment; filename="ferry-task-{task.id}.log"'
    assert download.text == format_log(await web.store.tasks.read_log(task.id))
    assert f'href="{log_path}.txt"' in page.text


@pytest.mark.usefixtures("images")
async def test_the_follow_route_answers_only_the_lines_after_the_cursor(
    web: WebFerry, visitor: Visitor, registry_b: RegistryServer
) -> None:
    execution = await a_finished_run(web, registry_b)
    task = await the_task(web, execution.id)
    lines = await web.store.tasks.read_log(task.id)
    follow = f"/ui/executions/{execution.id}/tasks/{task.id}/log/follow"

    everything = (await visitor.get(follow + "?after=0")).json()
    assert everything["lines"] == [format_log([line]).rstrip("\n") for line in lines]
    assert (everything["cursor"], everything["final"], everything["status"]) == (
        lines[-1][0],
        True,
        "Succeed",
    )

    after_first = (await visitor.get(f"{follow}?after={lines[0][0]}")).json()
    assert after_first["lines"] == everything["lines"][1:]
    nothing_new = await visitor.get(f"{follow}?after={everything['cursor']}")
    assert nothing_new.json() == {**everything, "lines": []}
    assert nothing_new.headers["cache-control"] == "no-store"
    assert (await visitor.get(follow + "?after=-1")).status_code == 404  # not a cursor


async def test_the_log_of_a_running_task_says_it_grows_and_the_follow_route_says_it_is_not_final(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, images: None
) -> None:
    execution = await a_held_run(web, holding)
    task = await the_task(web, execution.id)
    page = await visitor.get(f"/ui/executions/{execution.id}/tasks/{task.id}/log")
    assert "The log grows while the task runs." in page_text(page)
    assert 'data-final="false"' in page.text
    followed = (await visitor.get(f"/ui/executions/{execution.id}/tasks/{task.id}/log/follow")).json()
    assert (followed["final"], followed["status"], followed["badge"]) == (False, "In Progress", "running")


# -- the list ----------------------------------------------------------------------------------------


async def test_the_list_pages_20_executions_newest_first_and_filters_by_rule_and_status(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, images: None
) -> None:
    held = await a_held_run(web, holding)
    rule = await a_rule(web, holding.url, name="nothing")
    empty = await web.store.policies.update(replace(rule, filters=(Filter(FilterType.NAME, "no-such/**"),)))
    runs = [await web.services.service.start_execution(empty) for _ in range(21)]
    for run in runs:
        await finished(web, run.id)

    first = await visitor.get("/ui/executions")
    ids = [int(found) for found in re.findall(r'<td><a href="/ui/executions/(\d+)">', first.text)]
    assert ids == sorted((run.id for run in runs), reverse=True)[:20]
    assert "1–20 of 22 executions" in page_text(first)
    assert 'href="/ui/executions?rule=&amp;status=&amp;page=2"' in first.text
    second = await visitor.get("/ui/executions?page=2")
    assert re.findall(r'<td><a href="/ui/executions/(\d+)">', second.text) == [str(runs[0].id), str(held.id)]
    assert "Page 2 of 2" in page_text(second)

    by_rule = await visitor.get(f"/ui/executions?rule={held.policy_id}&status=")
    assert re.findall(r'<td><a href="/ui/executions/(\d+)">', by_rule.text) == [str(held.id)]
    assert f"{held.id} held In Progress Manual 1 0 0 1 0" in page_text(by_rule)
    by_status = await visitor.get("/ui/executions?status=Succeed")
    assert len(re.findall(r'<td><a href="/ui/executions/(\d+)">', by_status.text)) == 20
    assert str(held.id) not in re.findall(r'<td><a href="/ui/executions/(\d+)">', by_status.text)
    nothing = await visitor.get("/ui/executions?status=Stopped")
    assert "No executions match the filter." in page_text(nothing)
    lenient = await visitor.get("/ui/executions?rule=abc&status=Nonsense&page=99")
    assert (lenient.status_code, "Page 2 of 2" in page_text(lenient)) == (200, True)


# -- errors, sign-in, languages ------------------------------------------------------------------------


async def test_unknown_executions_and_tasks_are_404_pages(
    web: WebFerry, visitor: Visitor, registry_b: RegistryServer, images: None
) -> None:
    execution = await a_finished_run(web, registry_b)
    task = await the_task(web, execution.id)
    missing = await visitor.get("/ui/executions/999")
    assert missing.status_code == 404
    assert "execution 999 not found" in page_text(missing)
    assert (await visitor.get("/ui/executions/abc")).status_code == 404
    assert (await visitor.get(f"/ui/executions/{execution.id}/tasks/999/log")).status_code == 404
    other = await visitor.get(f"/ui/executions/{execution.id + 1}/tasks/{task.id}/log")
    assert other.status_code == 404  # the task, but under another execution's path
    assert (await visitor.get(f"/ui/executions/{execution.id}/tasks/{task.id}/log.txt")).status_code == 200
    await visitor.get("/ui/executions")
    assert (await visitor.post("/ui/executions/999/stop", {"confirm": "yes"})).status_code == 404
    assert (await visitor.post("/ui/executions/999/retry")).status_code == 404


async def test_every_page_wants_a_sign_in_and_the_live_routes_answer_401(
    web: WebFerry, anonymous: Visitor
) -> None:
    page = await anonymous.get("/ui/executions/1")
    assert page.headers["location"] == "/ui/login?next=/ui/executions/1"
    fragment = {"X-Ferry-Fragment": "1"}
    assert (await anonymous.get("/ui/executions/1/live", headers=fragment)).status_code == 401
    assert (await anonymous.get("/ui/executions/1/tasks/1/log/follow", headers=fragment)).status_code == 401
    assert (await anonymous.get("/ui/executions/1/tasks/1/log.txt")).status_code == 303


async def test_the_pages_speak_chinese_with_harbors_words(
    web: WebFerry, visitor: Visitor, holding: HoldingProxy, images: None
) -> None:
    execution = await a_held_run(web, holding)
    task = await the_task(web, execution.id)
    running = page_text(await visitor.get(f"/ui/executions/{execution.id}", headers=CHINESE))
    for words in ("复制任务", "进行中", "停止", "手动", "复制规则", "触发模式", "开始时间", "日志"):
        assert words in running, words
    listed = page_text(await visitor.get("/ui/executions", headers=CHINESE))
    for words in ("任务", "所有状态", "成功", "失败", "已停止", "持续时间"):
        assert words in listed, words
    log = page_text(await visitor.get(f"/ui/executions/{execution.id}/tasks/{task.id}/log", headers=CHINESE))
    assert "任务 " + str(task.id) in log
    await web.services.service.stop_execution(execution.id)
    await finished(web, execution.id)
    stopped = page_text(await visitor.get(f"/ui/executions/{execution.id}", headers=CHINESE))
    assert "已停止" in stopped
    assert "重试" in stopped
