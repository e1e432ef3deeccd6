"""The polling watcher over real registries and a real store, with the time given to each round.

Most cases run on SQLite; the claim across two ferry processes runs on SQLite and PostgreSQL. The
executions a round starts are run to their end by the service's dispatcher, and what reached the
destination is checked with skopeo (the raw manifest's digest).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferry.distribution.options import RetryPolicy
from ferry.jobs.dispatcher import DispatcherSettings
from ferry.jobs.retry import TaskRetryPolicy
from ferry.jobs.service import ReplicationService
from ferry.jobs.watcher import Watcher, WatchRound
from ferry.oci.digest import Digest
from ferry.replication.domain.events import EventAction
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Filter, FilterType, Policy, Trigger
from ferry.replication.domain.registry import Registry, RegistryType
from ferry.replication.domain.scope import ExecutionScope
from ferry.replication.domain.status import ExecutionStatus, TriggerType
from ferry.store import Store
from ferry.store.secrets import SecretBox
from ferry.store.tasks import TaskQuery
from tests.support.blobs import BlobSpec
from tests.support.client import delete_manifest, list_tags
from tests.support.faults import FlakyProxy
from tests.support.images import ImageSpec, build_image, push_image
from tests.support.net import free_port
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

SAVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
"""When the test policies were created."""
FIRST = SAVED + timedelta(minutes=1)
LATER = FIRST + timedelta(seconds=300)
"""The default interval after the first round: the next round is due."""

FAST = DispatcherSettings(heartbeat_seconds=0.1, poll_seconds=0.05, retry=TaskRetryPolicy(attempts=1))
ONE_TRY = RetryPolicy(attempts=1)
"""A source that is down fails the round at once."""


def image(seed: int) -> ImageSpec:
    return build_image([BlobSpec(2_000, seed=seed), BlobSpec(500, seed=seed + 1)])


@pytest.fixture
def service(store: Store) -> ReplicationService:
    return ReplicationService(store, settings=FAST)


async def add_registry(store: Store, name: str, url: str) -> Registry:
    registry = Registry(
        id=0, name=name, type=RegistryType.DOCKER_REGISTRY, url=url, creation_time=SAVED, update_time=SAVED
    )
    return await store.registries.add(registry)


async def watch_policy(store: Store, source_url: str, destination: RegistryServer, **fields: Any) -> Policy:
    """An event-based rule from a remote source: ``library/<name>`` to ``mirror/<name>``."""
    src = await add_registry(store, "source", source_url)
    dest = await add_registry(store, "dest", destination.url)
    values: dict[str, Any] = {
        "filters": (Filter(FilterType.NAME, "library/**"),),
        "trigger": Trigger(TriggerType.EVENT_BASED),
        "dest_namespace": "mirror",
        "dest_namespace_replace_count": 1,
        **fields,
    }
    policy = Policy(
        id=0,
        name="watch",
        src_registry_id=src.id,
        dest_registry_id=dest.id,
        creation_time=SAVED,
        update_time=SAVED,
        **values,
    )
    return await store.policies.add(policy)


async def run_round(watcher: Watcher, service: ReplicationService, now: datetime) -> WatchRound:
    """One tick that runs exactly one round; its executions are run to their end."""
    (found,) = await watcher.tick(now)
    for execution in found.executions:
        finished = await service.run_until_finished(execution.id)
        assert finished.api_status is ExecutionStatus.SUCCEED, finished.status_text
    return found


@dataclass
class Watched:
    """A watcher over a real store, a source registry and a destination registry."""

    store: Store
    service: ReplicationService
    watcher: Watcher
    source: RegistryServer
    destination: RegistryServer

    async def policy(self, **fields: Any) -> Policy:
        return await watch_policy(self.store, self.source.url, self.destination, **fields)

    async def round(self, now: datetime) -> WatchRound:
        return await run_round(self.watcher, self.service, now)

    async def first_round(self, **fields: Any) -> Policy:
        """``library/app:v1`` at the source, the rule, and its first round done."""
        push_image(self.source, "library/app", "v1", image(1))
        policy = await self.policy(**fields)
        await self.round(FIRST)
        return policy

    def digest(self, repository: str, tag: str) -> str:
        return inspect_raw_digest(self.destination, repository, tag)

    def tags(self, repository: str) -> list[str]:
        return sorted(list_tags(self.destination, repository))

    async def copied_tags(self, execution: Execution) -> list[tuple[str, tuple[str, ...]]]:
        tasks, _ = await self.store.tasks.list_tasks(TaskQuery(execution_id=execution.id))
        return [(task.source_repository, artifact.tags) for task in tasks for artifact in task.artifacts]


@pytest.fixture
def watched(
    store: Store, service: ReplicationService, registry: RegistryServer, registry_b: RegistryServer
) -> Watched:
    return Watched(store, service, Watcher(service, retry=ONE_TRY), registry, registry_b)


@SQLITE
async def test_the_first_round_runs_the_whole_rule_once(watched: Watched) -> None:
    v1 = push_image(watched.source, "library/app", "v1", image(1))
    v2 = push_image(watched.source, "library/app", "v2", image(2))
    push_image(watched.source, "other/app", "v1", image(3))  # outside the name filter
    policy = await watched.policy()

    first = await watched.round(FIRST)

    assert (first.policy_id, first.full, first.error) == (policy.id, True, "")
    (execution,) = first.executions
    assert (execution.trigger, execution.scope) == (TriggerType.EVENT_BASED, None)
    assert (watched.digest("mirror/app", "v1"), watched.digest("mirror/app", "v2")) == (v1, v2)
    assert watched.tags("mirror/app") == ["v1", "v2"]
    assert await watched.watcher.tick(FIRST + timedelta(seconds=299)) == []  # not due before its interval


@SQLITE
async def test_a_new_tag_starts_one_execution_scoped_to_it(watched: Watched) -> None:
    await watched.first_round()
    v2 = push_image(watched.source, "library/app", "v2", image(2))

    later = await watched.round(LATER)

    (execution,) = later.executions
    assert not later.full
    assert execution.scope == ExecutionScope(EventAction.PUSH, "library/app", ("v2",))
    assert await watched.copied_tags(execution) == [("library/app", ("v2",))]
    assert watched.digest("mirror/app", "v2") == v2


@SQLITE
async def test_a_tag_moved_to_a_new_digest_is_replicated_and_an_unchanged_source_starts_nothing(
    watched: Watched,
) -> None:
    await watched.first_round()

    unchanged = await watched.round(LATER)
    assert (unchanged.executions, unchanged.error) == ([], "")

    moved = push_image(watched.source, "library/app", "v1", image(5))
    retagged = await watched.round(LATER + timedelta(seconds=300))
    (execution,) = retagged.executions
    assert execution.scope == ExecutionScope(EventAction.PUSH, "library/app", ("v1",))
    assert watched.digest("mirror/app", "v1") == moved


@SQLITE
@pytest.mark.parametrize("deletion", [True, False])
async def test_a_tag_deleted_at_the_source_is_deleted_at_the_destination_only_with_deletion_on(
    watched: Watched, deletion: bool
) -> None:
    v2 = push_image(watched.source, "library/app", "v2", image(2))
    await watched.first_round(deletion=deletion)
    delete_manifest(watched.source, "library/app", v2)

    later = await watched.round(LATER)

    if deletion:
        (execution,) = later.executions
        assert execution.scope == ExecutionScope(EventAction.DELETE, "library/app", (), (Digest.parse(v2),))
        assert watched.tags("mirror/app") == ["v1"]
    else:
        assert later.executions == []
        assert watched.tags("mirror/app") == ["v1", "v2"]
    # what is gone is gone from the baseline too: it is not acted on again
    assert (await watched.round(LATER + timedelta(seconds=300))).executions == []


@SQLITE
async def test_an_edited_rule_gets_a_full_round_at_once(watched: Watched) -> None:
    policy = await watched.first_round()
    edited = replace(policy, dest_namespace="copy", update_time=FIRST + timedelta(seconds=10))
    await watched.store.policies.update(edited)

    again = await watched.round(FIRST + timedelta(seconds=11))

    assert again.full
    assert [execution.scope for execution in again.executions] == [None]
    assert watched.tags("copy/app") == ["v1"]


@SQLITE
async def test_a_source_that_is_down_fails_its_round_and_the_next_round_catches_up(watched: Watched) -> None:
    policy = await watched.first_round()
    source = await watched.store.registries.get(policy.src_registry_id)
    await watched.store.registries.update(replace(source, url=f"http://127.0.0.1:{free_port()}"))
    v2 = push_image(watched.source, "library/app", "v2", image(2))

    down = await watched.round(LATER)

    assert down.executions == []
    assert "nothing is listening there" in down.error, down.error
    status = await watched.store.watches.find(policy.id)
    assert status is not None
    assert status.last_error == down.error
    await watched.store.registries.update(source)
    back = await watched.round(LATER + timedelta(seconds=300))
    (execution,) = back.executions
    assert execution.scope == ExecutionScope(EventAction.PUSH, "library/app", ("v2",))
    assert watched.digest("mirror/app", "v2") == v2
    status = await watched.store.watches.find(policy.id)
    assert status is not None
    assert status.last_error == ""


@SQLITE
async def test_a_rate_limited_source_is_retried_within_the_round(
    store: Store, service: ReplicationService, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    push_image(registry, "library/app", "v1", image(1))
    with FlakyProxy(registry, fail_statuses=[429], retry_after="0") as limited:
        await watch_policy(store, limited.url, registry_b)
        found = await run_round(Watcher(service), service, FIRST)
        assert (found.error, len(found.executions), limited.failed) == ("", 1, 1)
    assert sorted(list_tags(registry_b, "mirror/app")) == ["v1"]


@BOTH_DATABASES
async def test_two_watchers_on_one_database_run_each_round_once(
    store: Store, database_url: str, secrets: SecretBox, registry: RegistryServer, registry_b: RegistryServer
) -> None:
    push_image(registry, "library/app", "v1", image(1))
    policy = await watch_policy(store, registry.url, registry_b)
    other = await Store.open(database_url, secrets)
    try:
        watchers = [Watcher(ReplicationService(opened), retry=ONE_TRY) for opened in (store, other)]

        async def rounds_run(now: datetime) -> list[int]:
            ran = await asyncio.gather(*(watcher.tick(now) for watcher in watchers))
            return sorted(len(rounds) for rounds in ran)

        assert await rounds_run(FIRST) == [0, 1]
        push_image(registry, "library/app", "v2", image(2))
        assert await rounds_run(LATER) == [0, 1]
        executions, total = await store.executions.list_executions()
        assert total == 2
        assert {execution.policy_id for execution in executions} == {policy.id}
    finally:
        await other.close()
