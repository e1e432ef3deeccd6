"""Replication policies end to end: `ferry run-policy` as users run it, against real registries,
with every copy checked by skopeo, and the executions, tasks and logs read back."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.blobs import BlobSpec
from tests.support.faults import FlakyProxy, upload_start
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest, skopeo_list_tags

FERRY = [sys.executable, "-m", "ferry.cli.main"]


def ferry(*args: str, data_dir: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FERRY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run([*FERRY, *args], capture_output=True, text=True, timeout=timeout, env=env)


def rule_file(
    path: Path,
    local: Any,
    remote: Any,
    *,
    name: str = "guide",
    filters: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Path:
    document = {
        "local": {"url": local.url},
        "registries": [{"name": "remote", "url": remote.url}],
        "policy": {
            "name": name,
            "src_registry": "Local",
            "dest_registry": "remote",
            "dest_namespace": "mirror",
            "dest_namespace_replace_count": 1,
            "filters": filters if filters is not None else [],
            **fields,
        },
    }
    path.write_text(json.dumps(document))  # YAML is a superset of JSON
    return path


def seed_guide(registry: RegistryServer) -> dict[str, str]:
    """library/web and library/api with prod-*, v* and dev tags; some images labelled production."""
    base = BlobSpec(30_000, seed=7)
    digests = {}
    for n, repository in enumerate(("library/web", "library/api")):
        for m, tag in enumerate(("prod-1", "v2", "dev")):
            labels = {"production": "true"} if tag != "v2" or repository == "library/web" else {}
            image = build_image([base, BlobSpec(4_000, seed=200 + 10 * n + m)], labels=labels)
            digests[f"{repository}:{tag}"] = push_image(registry, repository, tag, image)
    return digests


def run_json(*args: str, data_dir: Path) -> dict[str, Any]:
    done = ferry(*args, "--json", data_dir=data_dir)
    assert done.stdout, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_guides_push_policy_replicates_the_kept_tags_only(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    digests = seed_guide(registry)
    rules = rule_file(
        tmp_path / "rule.yaml",
        registry,
        registry_b,
        filters=[
            {"type": "name", "value": "library/**"},
            {"type": "tag", "value": "prod-*, v*"},
            {"type": "label", "value": ["production"]},
        ],
    )
    result = run_json("run-policy", "-f", str(rules), data_dir=tmp_path / "data")
    assert result["status"] == "Succeed"
    assert (result["total"], result["succeed"]) == (2, 2)
    by_source = {task["src_resource"]: task for task in result["tasks"]}
    assert set(by_source) == {"library/api [1 item(s) in total]", "library/web [2 item(s) in total]"}
    assert by_source["library/web [2 item(s) in total]"]["dst_resource"] == "mirror/web [2 item(s) in total]"
    assert sorted(skopeo_list_tags(registry_b, "mirror/web")) == ["prod-1", "v2"]
    assert skopeo_list_tags(registry_b, "mirror/api") == ["prod-1"]  # api:v2 lacks the label
    for tag in ("prod-1", "v2"):
        assert inspect_raw_digest(registry_b, "mirror/web", tag) == digests[f"library/web:{tag}"]
    assert inspect_raw_digest(registry_b, "mirror/api", "prod-1") == digests["library/api:prod-1"]


def test_a_second_run_finds_everything_up_to_date_and_logs_why(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    seed_guide(registry)
    rules = rule_file(tmp_path / "rule.yaml", registry, registry_b, filters=[{"type": "tag", "value": "v*"}])
    data = tmp_path / "data"
    first = run_json("run-policy", "-f", str(rules), data_dir=data)
    second = run_json("run-policy", "-f", str(rules), data_dir=data)
    assert first["status"] == second["status"] == "Succeed"
    assert all(task["copied"] == 1 for task in first["tasks"])
    assert all(task["up_to_date"] == 1 and task["copied"] == 0 for task in second["tasks"])
    log = ferry("executions", "log", str(second["tasks"][0]["id"]), data_dir=data).stdout
    assert "up to date: destination already has sha256:" in log
    listed = json.loads(ferry("executions", "list", "--json", data_dir=data).stdout)
    assert [item["id"] for item in listed] == [second["id"], first["id"]]


def test_with_override_off_a_changed_tag_is_skipped_visibly(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    push_image(registry, "library/web", "v1", build_image([BlobSpec(3_000, seed=1)]))
    push_image(registry_b, "mirror/web", "v1", build_image([BlobSpec(3_000, seed=2)]))
    rules = rule_file(tmp_path / "rule.yaml", registry, registry_b, override=False)
    result = run_json("run-policy", "-f", str(rules), data_dir=tmp_path / "data")
    [task] = result["tasks"]
    assert result["status"] == "Succeed"
    assert task["skipped_exists"] == 1
    log = ferry("executions", "log", str(task["id"]), data_dir=tmp_path / "data").stdout
    assert "image already exists: " in log
    assert "(enable override to replace it)" in log


def test_a_name_filter_that_matches_nothing_says_which_pattern_would(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    seed_guide(registry)
    rules = rule_file(
        tmp_path / "rule.yaml", registry, registry_b, filters=[{"type": "name", "value": "web*"}]
    )
    result = run_json("run-policy", "-f", str(rules), data_dir=tmp_path / "data")
    assert result["status"] == "Succeed"
    assert result["total"] == 0
    assert result["status_text"].startswith("no resources need to be replicated: name filter 'web*'")
    assert "'**/web*' would match 1 repository" in result["status_text"]


def test_a_dry_run_shows_the_plan_and_copies_nothing(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    seed_guide(registry)
    rules = rule_file(
        tmp_path / "rule.yaml", registry, registry_b, filters=[{"type": "tag", "value": "prod-*"}]
    )
    result = run_json("run-policy", "-f", str(rules), "--dry-run", data_dir=tmp_path / "data")
    assert {task["dst_resource"]: task["references"] for task in result["tasks"]} == {
        "mirror/api": ["prod-1"],
        "mirror/web": ["prod-1"],
    }
    assert httpx.get(f"{registry_b.url}/v2/_catalog").json()["repositories"] == []


def test_a_task_that_fails_on_a_registry_outage_is_retried(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    image = build_image([BlobSpec(6_000, seed=3)])  # 15 failures outlast 5 requests x 3 blob attempts
    push_image(registry, "library/web", "v1", image)
    with FlakyProxy(registry_b, fail_statuses=[503] * 15, retry_after="0", match=upload_start) as flaky:
        rules = rule_file(tmp_path / "rule.yaml", registry, flaky)
        done = ferry(
            "run-policy", "-f", str(rules), "--json", "--retry-delay", "0.2", data_dir=tmp_path / "data"
        )
        result = json.loads(done.stdout)
    [task] = result["tasks"]
    assert result["status"] == "Succeed", done.stderr
    assert task["attempts"] >= 2  # the config and the layer share the 15 failures in any order
    log = ferry("executions", "log", str(task["id"]), data_dir=tmp_path / "data").stdout
    assert "attempt 1 failed for 1 item(s)" in log
    assert "attempt 2 of 3" in log
    assert inspect_raw_digest(registry_b, "mirror/web", "v1") == image.digest


def test_a_failed_execution_is_rerun_for_its_failed_tasks_only(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    good = push_image(registry, "library/api", "v1", build_image([BlobSpec(3_000, seed=8)]))
    push_image(registry, "library/web", "v1", build_image([BlobSpec(3_000, seed=9)]))
    data = tmp_path / "data"

    def api_uploads(method: str, path: str) -> bool:
        return upload_start(method, path) and "/mirror/api/" in path

    with FlakyProxy(registry_b, fail_statuses=[503] * 1000, retry_after="0", match=api_uploads) as flaky:
        rules = rule_file(tmp_path / "rule.yaml", registry, flaky)
        failed = json.loads(
            ferry("run-policy", "-f", str(rules), "--json", "--attempts", "1", data_dir=data).stdout
        )
        assert failed["status"] == "Failed"
        assert (failed["succeed"], failed["failed"]) == (1, 1)
        flaky.fail_statuses = flaky.fail_statuses[: flaky.failed]  # the registry recovers
        rerun = ferry("executions", "retry", str(failed["id"]), "-f", str(rules), data_dir=data)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "re-running 1 task(s)" in rerun.stdout
    assert "Succeed" in rerun.stdout
    assert inspect_raw_digest(registry_b, "mirror/api", "v1") == good
    assert skopeo_list_tags(registry_b, "mirror/web") == ["v1"]


def test_wrong_credentials_fail_without_retrying(
    registry: RegistryServer, basic_registry: Any, tmp_path: Path
) -> None:
    push_image(registry, "library/web", "v1", build_image([BlobSpec(2_000, seed=4)]))
    rules = rule_file(tmp_path / "rule.yaml", registry, basic_registry)
    document = json.loads(rules.read_text())
    document["registries"][0]["credential"] = {"access_key": "nobody", "access_secret": "wrong"}
    rules.write_text(json.dumps(document))
    done = ferry("run-policy", "-f", str(rules), "--json", data_dir=tmp_path / "data")
    result = json.loads(done.stdout)
    assert done.returncode == 1
    assert result["status"] == "Failed"
    [task] = result["tasks"]
    assert task["attempts"] == 1
    assert "401" in task["status_text"] or "unauthorized" in task["status_text"].lower()


def test_the_secret_from_the_rule_file_is_not_in_the_database(
    registry: RegistryServer, basic_registry: Any, tmp_path: Path
) -> None:
    push_image(registry, "library/web", "v1", build_image([BlobSpec(2_000, seed=5)]))
    rules = rule_file(tmp_path / "rule.yaml", registry, basic_registry)
    document = json.loads(rules.read_text())
    document["registries"][0]["credential"] = {
        "access_key": basic_registry.username,
        "access_secret_env": "REMOTE_PASSWORD",
    }
    rules.write_text(json.dumps(document))
    env_data = tmp_path / "data"
    done = subprocess.run(
        [*FERRY, "run-policy", "-f", str(rules), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FERRY_DATA_DIR": str(env_data), "REMOTE_PASSWORD": basic_registry.password},
    )
    assert json.loads(done.stdout)["status"] == "Succeed", done.stderr
    raw = b"".join(path.read_bytes() for path in env_data.glob("ferry.db*"))
    assert basic_registry.password.encode() not in raw
    sealed = (
        sqlite3.connect(env_data / "ferry.db")
        .execute("select access_secret_sealed from registries")
        .fetchone()
    )
    assert sealed[0].startswith("fernet:")
    assert (env_data / "secret.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("policy: {name: x, src_registry: Local, dest_registry: nowhere}\nlocal: {url: 'http://h:1'}",
         "dest_registry 'nowhere' is not declared"),
        ("policy: {name: x, src_registry: Local, dest_registry: r, overide: true}", "unknown key(s) overide"),
        ("policy: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_rule_file_names_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(content)
    done = ferry("run-policy", "-f", str(path), data_dir=tmp_path / "data")
    assert done.returncode == 1
    assert message in " ".join(done.stderr.split())


def test_a_policy_runs_the_same_with_its_data_in_postgresql(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path, postgres_url: str
) -> None:
    digests = seed_guide(registry)
    rules = rule_file(
        tmp_path / "rule.yaml", registry, registry_b, filters=[{"type": "tag", "value": "prod-*"}]
    )
    data = tmp_path / "data"
    done = ferry("run-policy", "-f", str(rules), "--json", "--database-url", postgres_url, data_dir=data)
    result = json.loads(done.stdout)
    assert result["status"] == "Succeed", done.stderr
    assert not (data / "ferry.db").exists()
    listed = ferry("executions", "list", "--json", "--database-url", postgres_url, data_dir=data)
    assert [item["id"] for item in json.loads(listed.stdout)] == [result["id"]]
    assert inspect_raw_digest(registry_b, "mirror/web", "prod-1") == digests["library/web:prod-1"]


def test_a_pull_policy_copies_from_a_remote_into_the_local_registry(
    registry: RegistryServer, registry_b: RegistryServer, tmp_path: Path
) -> None:
    image = build_image([BlobSpec(5_000, seed=12)])
    digest = push_image(registry_b, "upstream/tool", "v3", image)
    path = tmp_path / "rule.yaml"
    path.write_text(
        json.dumps(
            {
                "local": {"url": registry.url},
                "registries": [{"name": "hub", "url": registry_b.url}],
                "policy": {"name": "pull", "src_registry": "hub", "dest_registry": "Local",
                           "dest_namespace": "cache", "dest_namespace_replace_count": 1},
            }
        )
    )  # fmt: skip
    result = run_json("run-policy", "-f", str(path), data_dir=tmp_path / "data")
    assert result["status"] == "Succeed"
    assert inspect_raw_digest(registry, "cache/tool", "v3") == digest
