"""Stopping and crashing a running `ferry run-policy`: Stop and Ctrl-C cancel copies mid-blob and
tag nothing; after kill -9 at any point, running the policy again completes the interrupted
execution, and no destination manifest ever lacks a blob."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.test_policies import FERRY, ferry, rule_file
from tests.support.blobs import BlobSpec
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw, inspect_raw_digest

MiB = 1024 * 1024
REPOSITORIES = ("library/alpha", "library/beta", "library/gamma")


def seed_slow_images(registry: RegistryServer, size: int) -> dict[str, str]:
    base = BlobSpec(200_000, seed=11)
    return {
        repository: push_image(registry, repository, "v1", build_image([base, BlobSpec(size, seed=50 + n)]))
        for n, repository in enumerate(REPOSITORIES)
    }


def start_ferry(rules: Path, data_dir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "FERRY_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [*FERRY, "run-policy", "-f", str(rules), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    path = data_dir / "ferry.db"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as connection:
        try:
            return connection.execute(sql).fetchall()
        except sqlite3.OperationalError:  # the schema is being created
            return []


def task_statuses(data_dir: Path) -> list[str]:
    return [str(row[0]) for row in query(data_dir, "select status from tasks order by id")]


def uploading(data_dir: Path) -> bool:
    """A task is running and has logged that it started (its blobs are on the wire)."""
    return bool(query(data_dir, "select 1 from tasks where status = 'Running'"))


def assert_complete(registry: RegistryServer, repository: str, tag: str) -> None:
    """The destination manifest exists and every blob it references is present."""
    manifest = json.loads(inspect_raw(registry, repository, tag))
    for blob in [manifest["config"], *manifest["layers"]]:
        status = httpx.head(f"{registry.url}/v2/{repository}/blobs/{blob['digest']}").status_code
        assert status == 200, f"{repository}:{tag} references {blob['digest']}, missing at the destination"


def destination_tags(registry: RegistryServer) -> dict[str, list[str]]:
    repositories = httpx.get(f"{registry.url}/v2/_catalog").json()["repositories"]
    found = {}
    for repository in repositories:
        reply = httpx.get(f"{registry.url}/v2/{repository}/tags/list")
        found[repository] = (reply.json().get("tags") or []) if reply.status_code == 200 else []
    return found


def finish(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=120)
    assert out, err
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.parametrize("how", ["stop command", "ctrl-c"])
def test_stopping_cancels_the_copy_mid_blob_and_tags_nothing(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path, how: str
) -> None:
    seed_slow_images(registry, 12 * MiB)
    rules = rule_file(tmp_path / "rule.yaml", registry, registry_b, speed=8_000)  # 1 MB/s: ~40 s in all
    data = tmp_path / "data"
    process = start_ferry(rules, data)
    wait_until(lambda: uploading(data) or None, timeout=60)
    time.sleep(1.0)  # let bytes flow: the stop must interrupt a blob, not a request
    if how == "ctrl-c":
        process.send_signal(signal.SIGINT)
    else:
        [(execution_id,)] = query(data, "select id from executions")
        stopped = ferry("executions", "stop", str(execution_id), data_dir=data)
        assert "stop requested" in stopped.stdout, stopped.stderr
    result = finish(process)
    assert process.returncode == 1
    assert result["status"] == "Stopped"
    assert set(task_statuses(data)) == {"Stopped"}
    assert all(tags == [] for tags in destination_tags(registry_b).values())
    logs = " ".join(str(row[0]) for row in query(data, "select line from task_logs"))
    assert "stopped on request" in logs


@pytest.mark.parametrize("moment", ["while planning", "mid-blob", "after the first task"])
def test_after_kill_9_running_the_policy_again_completes_the_execution(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path, moment: str
) -> None:
    digests = seed_slow_images(registry, 3 * MiB)
    rules = rule_file(tmp_path / "rule.yaml", registry, registry_b, speed=16_000)  # 2 MB/s
    data = tmp_path / "data"
    process = start_ferry(rules, data, "--tasks", "1")
    if moment == "while planning":
        wait_until(lambda: query(data, "select 1 from executions") or None, timeout=60, interval=0.01)
    elif moment == "mid-blob":
        wait_until(lambda: uploading(data) or None, timeout=60)
        time.sleep(0.7)
    else:
        wait_until(lambda: ("Success" in task_statuses(data)) or None, timeout=60)
    process.kill()
    process.wait(timeout=30)
    for repository, tags in destination_tags(registry_b).items():
        for tag in tags:
            assert_complete(registry_b, repository, tag)

    resumed = finish(start_ferry(rules, data))
    [(execution_id,)] = query(data, "select min(id) from executions")
    assert resumed["id"] == execution_id, "the interrupted execution is resumed, not replaced"
    assert resumed["status"] == "Succeed"
    assert set(task_statuses(data)) == {"Success"}
    for repository, digest in digests.items():
        destination = repository.replace("library/", "mirror/")
        assert inspect_raw_digest(registry_b, destination, "v1") == digest
        assert_complete(registry_b, destination, "v1")
