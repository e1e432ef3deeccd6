"""Scale-out: several `ferry worker` processes sharing one real PostgreSQL database through the task
queue (procrastinate). Each task runs exactly once; a worker killed with SIGKILL mid-copy leaves
its tasks to the others; a stop reaches every worker. Copies are checked with skopeo."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ferry.jobs.service import ReplicationService
from ferry.replication.domain.execution import Execution
from ferry.replication.domain.policy import Policy, Trigger, validate_policy
from ferry.replication.domain.registry import Registry, RegistryType
from ferry.replication.domain.status import JobStatus, TriggerType
from ferry.store import Store
from ferry.store.secrets import SecretBox
from ferry.store.tasks import TaskQuery
from tests.support.blobs import BlobSpec
from tests.support.faults import HoldingProxy
from tests.support.ferry_server import ferry_command, start_ferry_server
from tests.support.images import build_image, push_blob, push_image, push_manifest
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest

KEY = Fernet.generate_key().decode()
DEADLINE = 90.0

pytestmark = pytest.mark.slow


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(postgres_url, SecretBox.from_text(KEY))
    try:
        yield opened
    finally:
        await opened.close()


class Workers:
    """`ferry worker` processes on the test's database, each with its own log."""

    def __init__(self, database_url: str, local_registry: str, directory: Path) -> None:
        self.database_url = database_url
        self.local_registry = local_registry
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int, *, tasks: int = 4, registry_limit: int = 16) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
        env["FERRY_SECRET_KEY"] = KEY
        for _ in range(count):
            number = len(self.processes)
            log = (self.directory / f"worker-{number}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [
                        *ferry_command(),
                        "worker",
                        "--database-url",
                        self.database_url,
                        "--local-registry",
                        self.local_registry,
                        "--data-dir",
                        str(self.directory / f"data-{number}"),
                        "--tasks",
                        str(tasks),
                        "--registry-task-limit",
                        str(registry_limit),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )

    def owner_prefix(self, process: subprocess.Popen[bytes]) -> str:
        return f":{process.pid}:"

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.directory.glob("worker-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def workers(database_url: str, local_registry: str, directory: Path) -> Iterator[Workers]:
    group = Workers(database_url, local_registry, directory)
    try:
        yield group
    finally:
        group.stop()


def seed(registry: RegistryServer, count: int) -> dict[str, str]:
    """``count`` repositories ``team/app-NNN`` of one tag each, sharing a base layer."""
    base = BlobSpec(2_000, seed=1)
    push_blob(registry, "team/app-000", base)
    digests = {}
    for number in range(count):
        repository = f"team/app-{number:03d}"
        image = build_image([base, BlobSpec(300, seed=1000 + number)])
        for blob in (image.config, *image.layers):
            push_blob(registry, repository, blob)
        digests[repository] = push_manifest(
            registry, repository, "v1", image.manifest_bytes, image.media_type
        )
    return digests


async def add_rule(store: Store, destination_url: str) -> Policy:
    now = datetime.now(UTC)
    destination = await store.registries.add(
        Registry(
            id=1,
            name="destination",
            type=RegistryType.DOCKER_REGISTRY,
            url=destination_url,
            creation_time=now,
            update_time=now,
        )
    )
    return await store.policies.add(
        validate_policy(
            Policy(
                id=1,
                name="fan-out",
                src_registry_id=0,
                dest_registry_id=destination.id,
                dest_namespace="mirror",
                dest_namespace_replace_count=1,
                trigger=Trigger(TriggerType.MANUAL),
                creation_time=now,
                update_time=now,
            )
        )
    )


async def wait_for(store: Store, execution_id: int) -> Execution:
    deadline = time.monotonic() + DEADLINE
    while True:
        execution = await store.executions.get(execution_id)
        if execution.is_finished:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(
                f"execution {execution_id} did not end: {execution}\n{await _queue_state(store)}"
            )
        await asyncio.sleep(0.2)


async def test_three_workers_run_hundreds_of_tasks_each_exactly_once(
    store: Store, postgres_url: str, registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    digests = seed(registry, 200)
    policy = await add_rule(store, registry_b.url)
    with workers(postgres_url, registry.url, tmp_path) as group:
        group.start(3)
        started = time.monotonic()
        execution = await ReplicationService(store).start_execution(policy)
        seen: set[str] = set()
        while not (await store.executions.get(execution.id)).is_finished:
            seen |= await store.tasks.running_owners()
            await asyncio.sleep(0.05)
        ended = await wait_for(store, execution.id)
        print(f"200 tasks on 3 workers: {time.monotonic() - started:.1f} s")
        assert ended.status is JobStatus.SUCCESS, group.logs()

        tasks, total = await store.tasks.list_tasks(TaskQuery(execution.id, limit=1000))
        assert total == 200
        assert {task.attempts for task in tasks} == {1}, "no task ran twice"
        assert len(seen) >= 2, "the work was shared"
    for repository in ("team/app-000", "team/app-077", "team/app-199"):
        name = "mirror/" + repository.split("/")[1]
        assert inspect_raw_digest(registry_b, name, "v1") == digests[repository]


async def _queue_state(store: Store) -> str:
    """The tasks and the queue's jobs, for a failure message."""
    from sqlalchemy import text

    async with store.database.session() as session:
        tasks = (
            await session.execute(text("SELECT id, status, owner, attempts, lease_until FROM tasks"))
        ).all()
        jobs = (
            await session.execute(
                text(
                    "SELECT id, task_name, status, queueing_lock, worker_id, attempts FROM procrastinate_jobs"
                )
            )
        ).all()
    return "tasks:\n" + "\n".join(map(str, tasks)) + "\njobs:\n" + "\n".join(map(str, jobs))


async def _running_owners(store: Store) -> set[str]:
    return await store.tasks.running_owners()


async def test_a_worker_killed_mid_copy_leaves_its_tasks_to_the_others(
    store: Store, postgres_url: str, registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    digests = seed(registry, 12)
    with HoldingProxy(registry_b) as slow, workers(postgres_url, registry.url, tmp_path) as group:
        policy = await add_rule(store, slow.url)
        slow.hold()
        group.start(3, tasks=2)
        execution = await ReplicationService(store).start_execution(policy)
        deadline = time.monotonic() + DEADLINE
        while len(owners := await _running_owners(store)) < 3:
            assert time.monotonic() < deadline, group.logs()
            await asyncio.sleep(0.1)
        victim = group.processes[0]
        mine = {owner for owner in owners if group.owner_prefix(victim) in owner}
        assert mine, "the first worker holds tasks"
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        slow.release()

        ended = await wait_for(store, execution.id)

        assert ended.status is JobStatus.SUCCESS, group.logs()
        tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id, limit=1000))
        assert len([task for task in tasks if task.attempts > 1]) >= len(mine), "its tasks ran again"
    for repository, digest in digests.items():
        assert inspect_raw_digest(registry_b, "mirror/" + repository.split("/")[1], "v1") == digest


async def test_the_registry_limit_holds_across_workers(
    store: Store, postgres_url: str, registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    digests = seed(registry, 9)
    with HoldingProxy(registry_b) as slow, workers(postgres_url, registry.url, tmp_path) as group:
        policy = await add_rule(store, slow.url)
        slow.hold()
        group.start(3, tasks=4, registry_limit=2)
        execution = await ReplicationService(store).start_execution(policy)
        deadline = time.monotonic() + DEADLINE
        while slow.held < 2:  # two tasks are copying, held by the destination
            assert time.monotonic() < deadline, group.logs()
            await asyncio.sleep(0.1)
        for _ in range(20):  # 12 task slots in 3 workers, but the registry takes 2 at a time
            running = (await store.executions.get(execution.id)).counts.in_progress
            tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id, limit=100))
            assert sum(task.status is JobStatus.RUNNING for task in tasks) == 2
            await asyncio.sleep(0.1)
        slow.release()
        ended = await wait_for(store, execution.id)
        assert ended.status is JobStatus.SUCCESS, group.logs()
        assert running == 9  # pending ones count as in progress, as in Harbor
    for repository, digest in digests.items():
        assert inspect_raw_digest(registry_b, "mirror/" + repository.split("/")[1], "v1") == digest


async def test_a_stop_reaches_every_worker(
    store: Store, postgres_url: str, registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    seed(registry, 12)
    with HoldingProxy(registry_b) as slow, workers(postgres_url, registry.url, tmp_path) as group:
        policy = await add_rule(store, slow.url)
        slow.hold()
        group.start(3, tasks=2)
        service = ReplicationService(store)
        execution = await service.start_execution(policy)
        deadline = time.monotonic() + DEADLINE
        while len(await _running_owners(store)) < 3:
            assert time.monotonic() < deadline, group.logs()
            await asyncio.sleep(0.1)

        await service.stop_execution(execution.id)
        ended = await wait_for(store, execution.id)

        assert ended.status is JobStatus.STOPPED, group.logs()
        tasks, _ = await store.tasks.list_tasks(TaskQuery(execution.id, limit=1000))
        assert {task.status for task in tasks} == {JobStatus.STOPPED}
        slow.release()


def test_ferry_serve_on_postgresql_and_a_worker_replicate_through_the_queue(
    postgres_url: str, registry_b: RegistryServer, tmp_path: Path
) -> None:
    server = start_ferry_server(tmp_path / "serve", extra_args=("--database-url", postgres_url))
    try:
        local = server.local_registry
        digests = {
            f"team/svc-{n}": push_image(
                local, f"team/svc-{n}", "v1", build_image([BlobSpec(900, seed=70 + n)])
            )
            for n in range(6)
        }
        env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
        worker = subprocess.Popen(
            [
                *ferry_command(),
                "worker",
                "--database-url",
                postgres_url,
                "--data-dir",
                str(server.data_dir),  # the same secret key as the server's
                "--local-registry",
                local.url,
            ],
            stdout=(tmp_path / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        wait_until(
            lambda: (
                True
                if "is taking work from the task queue" in (tmp_path / "worker.log").read_text()
                else None
            ),
            timeout=30,
            what="the worker to start",
        )
        try:
            with server.client() as api:
                created = api.post(
                    "/registries", json={"name": "dest", "type": "docker-registry", "url": registry_b.url}
                )
                assert created.status_code == 201, created.text
                dest = int(created.headers["Location"].rsplit("/", 1)[1])
                rule: dict[str, object] = {
                    "name": "through-the-queue",
                    "src_registry": None,
                    "dest_registry": {"id": dest},
                    "dest_namespace": "mirror",
                    "dest_namespace_replace_count": 1,
                    "trigger": {"type": "manual", "trigger_settings": {"cron": ""}},
                    "filters": [],
                    "enabled": True,
                }
                policy = api.post("/replication/policies", json=rule)
                assert policy.status_code == 201, policy.text
                policy_id = int(policy.headers["Location"].rsplit("/", 1)[1])
                started = api.post("/replication/executions", json={"policy_id": policy_id})
                execution_id = int(started.headers["Location"].rsplit("/", 1)[1])
                deadline = time.monotonic() + DEADLINE
                while (found := api.get(f"/replication/executions/{execution_id}").json())[
                    "status"
                ] == "InProgress":
                    assert time.monotonic() < deadline, server.log_tail()
                    time.sleep(0.2)
                assert found["status"] == "Succeed", found
                assert found["total"] == 6
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()
    finally:
        server.stop()
    for repository, digest in digests.items():
        assert inspect_raw_digest(registry_b, "mirror/" + repository.split("/")[1], "v1") == digest
