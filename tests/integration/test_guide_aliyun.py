"""The user guide (shared/reference/user-guide.zh.md, Harbor → Alibaba Cloud) end to end with ferry.

A real `ferry serve` is the guide's local Harbor: its managed docker-registry holds the
`nms4cloud-*` images and notifies ferry of every push. The destination is the ACR **emulator**
(tests/support/acr_emulator.py: ACR's token service, namespace ownership and content rules in front
of a real docker-registry). The guide's steps are API calls as its curl commands make them; the
recommended rules come from examples/aliyun-guide.yaml through `ferry apply`. Copies are checked
with skopeo through the emulator.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.acr_emulator import AcrEmulator
from tests.support.blobs import BlobSpec
from tests.support.client import delete_manifest, list_tags
from tests.support.ferry_server import FerryServer, ferry_command
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.skopeo import inspect_raw_digest

ACCOUNT, PASSWORD = "lgy@example.com", "fixed-Passw0rd-7"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aliyun-guide.yaml"
DEADLINE = 60.0

Json = dict[str, Any]


@pytest.fixture(scope="module")
def acr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcrEmulator]:
    with AcrEmulator(tmp_path_factory.mktemp("acr")) as emulator:
        emulator.add_account(ACCOUNT, PASSWORD)
        yield emulator


@pytest.fixture(scope="module")
def api(ferry_server: FerryServer) -> Iterator[httpx.Client]:
    with ferry_server.client() as client:
        yield client


def image(seed: int) -> Any:
    return build_image([BlobSpec(4_000, seed=seed), BlobSpec(1_500, seed=seed + 100)])


def created(response: httpx.Response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def replicate(api: httpx.Client, policy_id: int) -> tuple[Json, list[Json]]:
    """REPLICATE, then wait for the execution to end; the execution and its tasks."""
    execution_id = created(api.post("/replication/executions", json={"policy_id": policy_id}))

    def ended() -> Json | None:
        found: Json = api.get(f"/replication/executions/{execution_id}").json()
        return found if found["status"] != "InProgress" else None

    execution = wait_until(ended, timeout=DEADLINE, what=f"execution {execution_id}")
    tasks: list[Json] = api.get(f"/replication/executions/{execution_id}/tasks").json()
    return execution, tasks


def task_log(api: httpx.Client, execution: Json, task: Json) -> str:
    return api.get(f"/replication/executions/{execution['id']}/tasks/{task['id']}/log").text


def writes(acr: AcrEmulator) -> list[tuple[str, str, int]]:
    return [(m, p, s) for m, p, s in acr.requests if m in {"PUT", "PATCH"} and p.startswith("/v2/")]


def test_the_guides_walkthrough_and_its_three_troubleshooting_cases(
    ferry_server: FerryServer, api: httpx.Client, acr: AcrEmulator
) -> None:
    harbor = ferry_server.local_registry
    digests = {
        ("library/nms4cloud-gateway", "prod-v1.0.0"): push_image(
            harbor, "library/nms4cloud-gateway", "prod-v1.0.0", image(1)
        ),
        ("library/nms4cloud-gateway", "v1.1"): push_image(
            harbor, "library/nms4cloud-gateway", "v1.1", image(2)
        ),
        ("library/nms4cloud-api", "prod-v2"): push_image(
            harbor, "library/nms4cloud-api", "prod-v2", image(3)
        ),
    }
    push_image(harbor, "library/nms4cloud-gateway", "test-1", image(4))
    push_image(harbor, "library/portal", "prod-1", image(5))

    # 三、创建目标端点: Test Connection with a wrong password, then with the fixed password
    ping = {"type": "ali-acr", "url": acr.url, "access_key": ACCOUNT, "access_secret": "console-password"}
    wrong = api.post("/registries/ping", json=ping)
    assert wrong.status_code == 400
    message = wrong.json()["errors"][0]["message"]
    assert message.startswith("Failed to ping endpoint: unauthorized")  # 问题1
    assert "fixed password" in message
    assert "console-password" not in message
    endpoint = {
        "name": "aliyun-acr",
        "type": "ali-acr",
        "url": acr.url,
        "credential": {"type": "basic", "access_key": ACCOUNT, "access_secret": PASSWORD},
        "insecure": False,
    }
    registry_id = created(api.post("/registries", json=endpoint))
    assert api.post("/registries/ping", json={"id": registry_id}).status_code == 200

    # 四、创建镜像复制规则 sync-to-aliyun
    rule = {
        "name": "sync-to-aliyun",
        "description": "同步镜像到阿里云",
        "src_registry": None,
        "dest_registry": {"id": registry_id},
        "dest_namespace": "lgy-images",
        "dest_namespace_replace_count": -1,
        "filters": [{"type": "name", "value": "**/nms4cloud-*"}, {"type": "tag", "value": "prod-*, v*"}],
        "trigger": {"type": "manual", "trigger_settings": {"cron": ""}},
        "override": True,
        "enabled": True,
    }
    policy_id = created(api.post("/replication/policies", json=rule))

    # 问题2: the namespace was never created in the ACR console
    execution, tasks = replicate(api, policy_id)
    assert execution["status"] == "Failed"
    assert {task["status_text"].split(" (")[0] for task in tasks} == {"namespace not found: lgy-images"}
    assert "创建命名空间" in task_log(api, execution, tasks[0])
    assert writes(acr) == []

    # the guide's fix: 命名空间 → 创建命名空间 lgy-images; then REPLICATE again
    acr.add_namespace("lgy-images", ACCOUNT)
    execution, tasks = replicate(api, policy_id)
    assert execution["status"] == "Succeed", tasks
    assert execution["total"] == 2  # one task per repository, as in Harbor
    for (repository, tag), digest in digests.items():
        assert inspect_raw_digest(acr, f"lgy-images/{repository.split('/')[-1]}", tag) == digest
    assert "test-1" not in list_tags(acr, "lgy-images/nms4cloud-gateway")
    assert "lgy-images/portal" not in acr.repositories

    # 问题3: the same tag holds another image at ACR and Override is off
    other = push_image(acr, "lgy-images/nms4cloud-gateway", "v1.1", image(9))
    assert api.put(f"/replication/policies/{policy_id}", json={**rule, "override": False}).status_code == 200
    execution, tasks = replicate(api, policy_id)
    gateway = next(task for task in tasks if task["src_resource"].startswith("library/nms4cloud-gateway"))
    assert "image already exists" in task_log(api, execution, gateway)
    assert inspect_raw_digest(acr, "lgy-images/nms4cloud-gateway", "v1.1") == other

    # the guide's fix: turn Override on
    assert api.put(f"/replication/policies/{policy_id}", json=rule).status_code == 200
    execution, _ = replicate(api, policy_id)
    assert execution["status"] == "Succeed"
    assert (
        inspect_raw_digest(acr, "lgy-images/nms4cloud-gateway", "v1.1")
        == digests[("library/nms4cloud-gateway", "v1.1")]
    )


def ferry_cli(ferry_server: FerryServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FERRY_")}
    env.update(
        HOME=str(home),
        COLUMNS="200",
        FERRY_SERVER=ferry_server.url,
        FERRY_PASSWORD=ferry_server.password,
        ACR_PASSWORD=PASSWORD,
    )
    done = subprocess.run([*ferry_command(), *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def arrives(acr: AcrEmulator, repository: str, tag: str, digest: str) -> None:
    wait_until(
        lambda: True if tag in list_tags(acr, repository) else None,
        timeout=DEADLINE,
        what=f"{repository}:{tag} at ACR",
    )
    assert inspect_raw_digest(acr, repository, tag) == digest


def test_the_guides_recommended_rules_from_the_example_file(
    ferry_server: FerryServer, api: httpx.Client, acr: AcrEmulator, tmp_path: Path
) -> None:
    acr.add_namespace("production", ACCOUNT)
    acr.add_namespace("testing", ACCOUNT)
    example = EXAMPLE.read_text()
    assert "https://crpi-xxx.cn-hangzhou.personal.cr.aliyuncs.com" in example
    rules = tmp_path / "aliyun-guide.yaml"
    rules.write_text(
        example.replace("https://crpi-xxx.cn-hangzhou.personal.cr.aliyuncs.com", acr.url)
        .replace("your-username@aliyun.com", ACCOUNT)
        .replace("name: aliyun-acr", "name: aliyun-acr-example")
        .replace("dest_registry: aliyun-acr", "dest_registry: aliyun-acr-example")
    )
    applied = ferry_cli(ferry_server, tmp_path / "home", "apply", "-f", str(rules))
    assert PASSWORD not in applied.stdout + applied.stderr

    # prod-to-aliyun is event based: a push of a release tag reaches ACR with no manual step
    harbor = ferry_server.local_registry
    release = push_image(harbor, "library/nms4cloud-order", "prod-v3", image(20))
    arrives(acr, "production/nms4cloud-order", "prod-v3", release)
    numbered = push_image(harbor, "library/nms4cloud-order", "v3.1", image(21))
    arrives(acr, "production/nms4cloud-order", "v3.1", numbered)

    # test tags are not production's; test-to-aliyun copies them when asked
    testing = push_image(harbor, "library/nms4cloud-order", "test-7", image(22))
    ferry_cli(ferry_server, tmp_path / "home", "replicate", "test-to-aliyun")
    assert inspect_raw_digest(acr, "testing/nms4cloud-order", "test-7") == testing
    assert "test-7" not in list_tags(acr, "production/nms4cloud-order")
    assert "prod-v3" not in list_tags(acr, "testing/nms4cloud-order")

    # production keeps old versions: a deletion at the source is not replicated (deletion: false).
    # Events are handled in order, so once a later push has arrived the deletion was handled.
    delete_manifest(harbor, "library/nms4cloud-order", release)
    later = push_image(harbor, "library/nms4cloud-order", "prod-v4", image(23))
    arrives(acr, "production/nms4cloud-order", "prod-v4", later)
    assert inspect_raw_digest(acr, "production/nms4cloud-order", "prod-v3") == release
