"""Clients we did not write, against a real ``ferry serve``: the guide's two curl commands,
Harbor's own generated Python client (``harbor-api-client``, built from Harbor's API
specification), and the sign-in rules every client meets.

Every copy is checked with skopeo at the destination; the registries are real docker-registry
processes (ferry's managed local one, and test registries from ``tests.support.registry``).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import harbor_client
import httpx
import pytest
from harbor_client.rest import ApiException

from tests.support.blobs import BlobSpec
from tests.support.ferry_server import FerryServer, start_ferry_server
from tests.support.images import build_image, push_image
from tests.support.net import wait_until
from tests.support.registry import RegistryServer
from tests.support.skopeo import inspect_raw_digest, skopeo_list_tags

# The guide's command-line section, word for word; tests substitute HOST and PASSWORD only.
GUIDE_LIST_RULES = "curl -u admin:PASSWORD http://HOST/api/v2.0/replication/policies"
GUIDE_START_RULE = (
    'curl -X POST -u admin:PASSWORD -H "Content-Type: application/json" -d \'{"policy_id": 1}\' '
    "http://HOST/api/v2.0/replication/executions"
)
FINISHED = {"Succeed", "Failed", "Stopped"}
HARBOR_POLICY_FIELDS = {
    # harbor_client.ReplicationPolicy.attribute_map, plus creator and single_active_replication
    # (in Harbor's swagger since 2.9; the 2.12 client predates them)
    "id",
    "name",
    "description",
    "creator",
    "src_registry",
    "dest_registry",
    "dest_namespace",
    "dest_namespace_replace_count",
    "trigger",
    "filters",
    "replicate_deletion",
    "deletion",
    "override",
    "enabled",
    "creation_time",
    "update_time",
    "speed",
    "copy_by_chunk",
    "single_active_replication",
}
HARBOR_REGISTRY_FIELDS = {
    "id",
    "name",
    "description",
    "type",
    "url",
    "credential",
    "insecure",
    "status",
    "creation_time",
    "update_time",
}


def _created_id(location: str, collection: str) -> int:
    prefix = f"/api/v2.0/{collection}/"
    assert location.startswith(prefix), location
    return int(location.removeprefix(prefix))


def _eventually(probe: Callable[[], Any | None], what: str, server: FerryServer) -> Any:
    try:
        return wait_until(probe, timeout=120, interval=0.2, what=what)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n--- ferry log ---\n{server.log_tail()}") from None


# --- the guide's curl commands ----------------------------------------------------------------------


@pytest.fixture
def fresh_ferry(tmp_path: Path) -> Iterator[FerryServer]:
    """A server of its own: the guide starts rule 1, so the rule must be the first one created."""
    with start_ferry_server(tmp_path / "ferry") as server:
        yield server


def _run_guide(command: str, server: FerryServer, *extra: str) -> str:
    """The guide's command as a shell would split it, with this server's host and password."""
    typed = command.replace("HOST", server.host).replace("PASSWORD", server.password)
    argv = [*shlex.split(typed), *extra]
    assert shutil.which(argv[0]), "curl is not installed (scripts/bootstrap.sh installs it)"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{argv} failed ({done.returncode}): {done.stderr}"
    return done.stdout


def test_the_guides_curl_commands(fresh_ferry: FerryServer, registry_b: RegistryServer) -> None:
    server, local = fresh_ferry, fresh_ferry.local_registry
    image = build_image([BlobSpec(5_000, seed=11)])
    pushed = push_image(local, "library/hello", "v1", image)
    with server.client() as api:
        created = api.post(
            "/registries", json={"name": "mirror-site", "type": "docker-registry", "url": registry_b.url}
        )
        assert created.status_code == 201, created.text
        dest_id = _created_id(created.headers["Location"], "registries")
        rule = api.post(
            "/replication/policies",
            json={
                "name": "push-to-mirror",
                "src_registry": {"id": 0},
                "dest_registry": {"id": dest_id},
                "dest_namespace": "mirror",
                "dest_namespace_replace_count": 1,
                "filters": [{"type": "name", "value": "library/**"}],
                "trigger": {"type": "manual"},
                "override": True,
                "enabled": True,
            },
        )
        assert rule.status_code == 201, rule.text
        assert rule.headers["Location"] == "/api/v2.0/replication/policies/1"

    policies = json.loads(_run_guide(GUIDE_LIST_RULES, server))

    assert isinstance(policies, list)
    assert [policy["name"] for policy in policies] == ["push-to-mirror"]
    policy = policies[0]
    assert set(policy) >= HARBOR_POLICY_FIELDS
    assert set(policy["src_registry"]) >= HARBOR_REGISTRY_FIELDS
    assert set(policy["dest_registry"]) >= HARBOR_REGISTRY_FIELDS
    assert (policy["src_registry"]["id"], policy["src_registry"]["name"]) == (0, "Local")
    assert policy["src_registry"]["url"] == local.url
    assert (policy["dest_registry"]["id"], policy["dest_registry"]["name"]) == (dest_id, "mirror-site")
    assert policy["dest_registry"]["url"] == registry_b.url
    assert policy["trigger"] == {"type": "manual", "trigger_settings": {"cron": ""}}
    assert policy["filters"] == [{"type": "name", "value": "library/**"}]
    assert (policy["dest_namespace"], policy["dest_namespace_replace_count"]) == ("mirror", 1)
    assert policy["deletion"] is False
    assert policy["replicate_deletion"] is False
    assert policy["override"] is True
    assert policy["enabled"] is True
    assert policy["speed"] == 0
    assert policy["copy_by_chunk"] is False
    assert policy["creator"] == "admin"

    started = _run_guide(GUIDE_START_RULE, server, "-i")  # -i: show the status line and headers too

    head, _, body = started.replace("\r\n", "\n").partition("\n\n")
    status_line, *header_lines = head.splitlines()
    assert status_line.split()[1] == "201", started
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)
    }
    execution_id = _created_id(headers["location"], "replication/executions")
    assert body == ""

    def finished() -> dict[str, Any] | None:
        shown: dict[str, Any] = httpx.get(
            f"{server.api}/replication/executions/{execution_id}", auth=server.auth, timeout=30
        ).json()
        return shown if shown["status"] in FINISHED else None

    execution = _eventually(finished, f"execution {execution_id} to finish", server)
    assert execution["status"] == "Succeed", execution
    assert (execution["policy_id"], execution["trigger"]) == (1, "manual")
    assert (execution["total"], execution["succeed"], execution["failed"]) == (1, 1, 0)
    assert inspect_raw_digest(registry_b, "mirror/hello", "v1") == pushed == image.digest


# --- Harbor's generated client ----------------------------------------------------------------------


class Harbor:
    """The generated client's APIs, signed in as admin."""

    def __init__(self, server: FerryServer, password: str | None = None) -> None:
        config = harbor_client.Configuration()
        config.host = server.api
        config.username = "admin"
        config.password = server.password if password is None else password
        self.client = harbor_client.ApiClient(config)
        self.registries = harbor_client.RegistryApi(self.client)
        self.replication = harbor_client.ReplicationApi(self.client)
        self.health = harbor_client.HealthApi(self.client)
        self.ping = harbor_client.PingApi(self.client)


@pytest.fixture
def harbor(ferry_server: FerryServer) -> Harbor:
    return Harbor(ferry_server)


def _location(headers: Any) -> str:
    location = headers.get("Location")
    assert isinstance(location, str), headers
    return location


def _errors(exc: ApiException) -> list[dict[str, str]]:
    body: dict[str, list[dict[str, str]]] = json.loads(exc.body)
    return body["errors"]


def test_harbor_client_full_replication_flow(
    harbor: Harbor, ferry_server: FerryServer, basic_registry: RegistryServer
) -> None:
    local = ferry_server.local_registry
    release = build_image([BlobSpec(6_000, seed=21)])
    pushed = push_image(local, "library/app", "v1.0", release)
    push_image(local, "library/app", "latest", build_image([BlobSpec(6_000, seed=22)]))
    assert basic_registry.username is not None
    assert basic_registry.password is not None

    # registries: create (a real htpasswd registry), list with the secret masked, ping
    _, status, headers = harbor.registries.create_registry_with_http_info(
        harbor_client.Registry(
            name="harbor-client-dest",
            type="docker-registry",
            url=basic_registry.url,
            credential=harbor_client.RegistryCredential(
                type="basic",
                access_key=basic_registry.username,
                access_secret=basic_registry.password,
            ),
            insecure=False,
        )
    )
    assert status == 201
    registry_id = _created_id(_location(headers), "registries")

    registries = harbor.registries.list_registries(q="name=harbor-client-dest")
    assert [item.id for item in registries] == [registry_id]
    shown = registries[0]
    assert (shown.type, shown.url, shown.insecure) == ("docker-registry", basic_registry.url, False)
    assert shown.credential.type == "basic"
    assert shown.credential.access_key == basic_registry.username
    assert shown.credential.access_secret == "*****"
    assert shown.status == "healthy"
    assert shown.creation_time is not None
    assert harbor.registries.get_registry(registry_id).credential.access_secret == "*****"

    harbor.registries.ping_registry(harbor_client.RegistryPing(id=registry_id))
    with pytest.raises(ApiException) as refused:
        harbor.registries.ping_registry(harbor_client.RegistryPing(id=registry_id, access_secret="wrong"))
    assert refused.value.status == 400
    assert "Failed to ping endpoint: unauthorized" in refused.value.body
    assert _errors(refused.value)[0]["code"] == "BAD_REQUEST"
    # a ping with other credentials says nothing about the stored ones
    assert harbor.registries.get_registry(registry_id).status == "healthy"

    # a push rule from the local registry, only v* tags
    _, status, headers = harbor.replication.create_replication_policy_with_http_info(
        harbor_client.ReplicationPolicy(
            name="harbor-client-push",
            description="created by harbor-api-client",
            src_registry=harbor_client.Registry(id=0),
            dest_registry=harbor_client.Registry(id=registry_id),
            dest_namespace="mirror",
            filters=[
                harbor_client.ReplicationFilter(type="name", value="**"),
                harbor_client.ReplicationFilter(type="tag", value="v*"),
            ],
            trigger=harbor_client.ReplicationTrigger(type="manual"),
            override=True,
            enabled=True,
            deletion=False,
        )
    )
    assert status == 201
    policy_id = _created_id(_location(headers), "replication/policies")

    policies, status, headers = harbor.replication.list_replication_policies_with_http_info(
        q="name=~harbor-client", page=1, page_size=10
    )
    assert status == 200
    assert headers["X-Total-Count"] == "1"
    assert [item.id for item in policies] == [policy_id]
    policy = policies[0]
    assert (policy.src_registry.id, policy.src_registry.name) == (0, "Local")
    assert (policy.dest_registry.id, policy.dest_registry.credential.access_secret) == (registry_id, "*****")
    assert [(item.type, item.value) for item in policy.filters] == [("name", "**"), ("tag", "v*")]
    assert (policy.trigger.type, policy.trigger.trigger_settings.cron) == ("manual", "")
    assert (policy.deletion, policy.replicate_deletion, policy.override) == (False, False, True)
    assert policy.dest_namespace_replace_count == -1  # Harbor stores -1 (flatten) when it is omitted
    assert harbor.replication.list_replication_policies(q="name=nothing-like-this") == []

    # run it and follow it to the end
    _, status, headers = harbor.replication.start_replication_with_http_info(
        harbor_client.StartReplicationExecution(policy_id=policy_id)
    )
    assert status == 201
    execution_id = _created_id(_location(headers), "replication/executions")

    def finished() -> Any | None:
        execution = harbor.replication.get_replication_execution(execution_id)
        return execution if execution.status in FINISHED else None

    execution = _eventually(finished, f"execution {execution_id} to finish", ferry_server)
    assert execution.status == "Succeed", execution
    assert (execution.policy_id, execution.trigger) == (policy_id, "manual")
    assert (execution.total, execution.succeed, execution.failed) == (1, 1, 0)
    assert execution.start_time is not None
    assert execution.end_time is not None
    assert [item.id for item in harbor.replication.list_replication_executions(policy_id=policy_id)] == [
        execution_id
    ]

    tasks = harbor.replication.list_replication_tasks(execution_id)
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.execution_id, task.status, task.operation) == (execution_id, "Succeed", "copy")
    assert task.src_resource.startswith("library/app")
    assert task.dst_resource.startswith("mirror/app")
    log = harbor.replication.get_replication_log(execution_id, task.id)
    assert isinstance(log, str)
    assert "copy library/app" in log, log
    assert f"{basic_registry.host}/mirror/app:v1.0" in log, log
    assert "1 copied" in log, log
    assert ":latest" not in log, log

    assert inspect_raw_digest(basic_registry, "mirror/app", "v1.0") == pushed == release.digest
    assert skopeo_list_tags(basic_registry, "mirror/app") == ["v1.0"]

    # PUT takes back the whole policy as GET returned it
    stored = harbor.replication.get_replication_policy(policy_id)
    stored.description = "changed through PUT"
    stored.filters = [harbor_client.ReplicationFilter(type="name", value="library/**")]
    harbor.replication.update_replication_policy(policy_id, stored)
    changed = harbor.replication.get_replication_policy(policy_id)
    assert changed.description == "changed through PUT"
    assert [(item.type, item.value) for item in changed.filters] == [("name", "library/**")]
    assert changed.creation_time == stored.creation_time
    assert changed.dest_registry.id == registry_id

    # a registry a rule uses cannot go; the rule first, then the registry
    with pytest.raises(ApiException) as in_use:
        harbor.registries.delete_registry(registry_id)
    assert in_use.value.status == 412
    assert _errors(in_use.value)[0]["code"] == "PRECONDITION"
    harbor.replication.delete_replication_policy(policy_id)
    harbor.registries.delete_registry(registry_id)

    lookups: list[Callable[[], object]] = [
        lambda: harbor.replication.get_replication_policy(policy_id),
        lambda: harbor.registries.get_registry(registry_id),
        lambda: harbor.replication.get_replication_execution(execution_id + 1000),
    ]
    for missing in lookups:
        with pytest.raises(ApiException) as not_found:
            missing()
        assert not_found.value.status == 404
        assert _errors(not_found.value)[0]["code"] == "NOT_FOUND"


def test_harbor_client_reads_the_catalogue_and_health(harbor: Harbor) -> None:
    types = harbor.registries.list_registry_provider_types()
    assert {"docker-registry", "harbor", "docker-hub", "ali-acr"} <= set(types)
    infos = harbor.registries.list_registry_provider_infos()
    assert set(infos) == set(types)
    assert infos["docker-hub"].endpoint_pattern.endpoints[0].value == "https://hub.docker.com"
    info = harbor.registries.get_registry_info(0)
    assert "event_based" in info.supported_triggers
    assert {item.type for item in info.supported_resource_filters} >= {"name", "tag"}
    assert harbor.health.get_health().status == "healthy"
    assert harbor.ping.get_ping() == "Pong"


def test_harbor_client_with_a_wrong_password_gets_401(ferry_server: FerryServer) -> None:
    with pytest.raises(ApiException) as refused:
        Harbor(ferry_server, password="not-the-password").registries.list_registries()
    assert refused.value.status == 401
    assert _errors(refused.value)[0]["code"] == "UNAUTHORIZED"


# --- signing in -------------------------------------------------------------------------------------


def test_health_needs_no_sign_in(ferry_server: FerryServer) -> None:
    reply = httpx.get(f"{ferry_server.api}/health", timeout=30)
    assert reply.status_code == 200
    assert reply.json()["status"] == "healthy"


def test_without_credentials_the_answer_is_401_with_a_challenge(ferry_server: FerryServer) -> None:
    reply = httpx.get(f"{ferry_server.api}/replication/policies", timeout=30)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")
    assert reply.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert reply.json()["errors"][0]["message"]


def test_guessing_passwords_is_slowed_down_per_address(ferry_server: FerryServer) -> None:
    # From 127.0.0.2, so that the pause does not fall on the other tests (they connect from 127.0.0.1).
    guesser = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)
    url = f"{ferry_server.api}/replication/policies"
    with guesser:
        answers = []
        for attempt in range(30):
            reply = guesser.get(url, auth=("admin", f"guess-{attempt}"))
            answers.append(reply.status_code)
            if reply.status_code == 429:
                break
        assert answers[-1] == 429, answers
        assert answers[:-1] == [401] * (len(answers) - 1)
        assert len(answers) >= 6  # five failures are free
        assert int(reply.headers["Retry-After"]) >= 1
        assert reply.json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"
    with ferry_server.client() as admin:
        assert admin.get("/replication/policies").status_code == 200
